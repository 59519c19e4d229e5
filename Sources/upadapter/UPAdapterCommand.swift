import ArgumentParser
import CLIPEncoder
import Support

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
            ZeroShotCommand.self, CompareReferenceCommand.self, BenchCommand.self, ModelCommand.self,
        ]
    )

    /// Parses and runs the command like ArgumentParser's own `main`, but sends every error of
    /// a run through `ReadableError`, so that no raw Foundation, JSON or YAML dump reaches the
    /// terminal. Usage errors keep ArgumentParser's messages and exit code 64.
    static func main() async {
        AllocatorSettings.apply()
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            exit(withError: CommandFailure.wrapping(error))
        }
    }
}

/// An error of a run, described in one readable sentence.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    /// ArgumentParser's own errors (usage, help, exit codes) unchanged, every other error
    /// described by `ReadableError`.
    static func wrapping(_ error: any Error) -> any Error {
        if error is ValidationError || error is CleanExit || error is ExitCode { return error }
        // A command's help (`upadapter --help`, a command group run without a subcommand) arrives
        // from `run()` as ArgumentParser's internal `CommandError`, which cannot be named here.
        if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return error }
        return CommandFailure(description: ReadableError.describe(error))
    }
}

/// Throws a usage error unless the integer option `name` lies in `range`.
func requireOption(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws {
    guard range.contains(value) else {
        throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
}
