import Foundation
import PackagePlugin

/// Embeds every `Kernels/*.cl` file into the target as Swift string constants, so that a
/// copied binary carries its kernel sources and needs no resource bundle.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelDirectory = context.package.directoryURL.appending(path: "Kernels")
        let kernelFiles = try FileManager.default
            .contentsOfDirectory(at: kernelDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "cl" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKernels.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(kernelFiles.count) OpenCL kernel files",
                executable: try context.tool(named: "KernelEmbedder").url,
                arguments: [output.path] + kernelFiles.map(\.path),
                inputFiles: kernelFiles,
                outputFiles: [output]
            )
        ]
    }
}
