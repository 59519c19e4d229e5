import ArgumentParser

/// The `upadapter` command-line tool.
@main
struct UPAdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upadapter",
        abstract: "Adapt CLIP to an unlabeled image collection with unsupervised prototypes.",
        discussion: """
            Devices: --device auto (first OpenCL GPU, else CPU), cpu, cpu-reference, opencl, opencl:N,
            or the UPADAPTER_DEVICE environment variable.
            """,
        subcommands: [
            RunCommand.self, SweepCommand.self, ExtractCommand.self, CacheCommand.self, PredictCommand.self, ConfigCommand.self,
            DevicesCommand.self, KernelsCommand.self, EncodeImageCommand.self, EncodeTextCommand.self,
            ZeroShotCommand.self, CompareReferenceCommand.self, BenchCommand.self,
        ]
    )
}
