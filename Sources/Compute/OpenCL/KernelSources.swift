import Foundation

/// Finds the OpenCL C source of a kernel file: from `UPADAPTER_KERNEL_DIR` when that variable
/// names a folder holding the file (for kernel work without rebuilding), else the copy embedded
/// in the binary at build time from `Kernels/`.
public enum KernelSources {
    /// The environment variable that points at a folder of `.cl` files overriding the embedded ones.
    public static let overrideVariable = "UPADAPTER_KERNEL_DIR"

    /// Names of the embedded kernel files, sorted.
    public static var embeddedFiles: [String] { EmbeddedKernels.sources.keys.sorted() }

    /// The folder named by `UPADAPTER_KERNEL_DIR`, if set.
    public static var overrideDirectory: URL? {
        guard let directory = ProcessInfo.processInfo.environment[overrideVariable], !directory.isEmpty else { return nil }
        return URL(fileURLWithPath: directory)
    }

    /// The source text of `file` (for example `matmul.cl`), from `directory` when it holds the
    /// file, else the embedded copy.
    /// - Throws: `ComputeError.kernelSourceMissing` when neither place has it.
    public static func source(of file: String, overrideDirectory directory: URL? = overrideDirectory) throws -> String {
        if let directory, let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) {
            return text
        }
        guard let text = EmbeddedKernels.sources[file] else { throw ComputeError.kernelSourceMissing(file: file) }
        return text
    }

    /// Kernel name → the embedded file that declares it (`__kernel … void name(`), read once
    /// from the embedded sources (an override folder changes kernel bodies, not where they live).
    public static let declaringFiles: [String: String] = {
        var files: [String: String] = [:]
        for (file, source) in EmbeddedKernels.sources {
            for name in declaredKernels(in: source) { files[name] = file }
        }
        return files
    }()

    /// The names of the kernels `source` declares, in order.
    static func declaredKernels(in source: String) -> [String] {
        var names: [String] = []
        var rest = source[...]
        while let marker = rest.range(of: "__kernel") {
            rest = rest[marker.upperBound...]
            guard let declaration = rest.range(of: "void") else { break }
            let name = rest[declaration.upperBound...].drop { $0.isWhitespace }.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !name.isEmpty { names.append(String(name)) }
        }
        return names
    }
}
