import ArgumentParser
import Compute
import Foundation

struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Check the kernels against the CPU twin, or measure their throughput.",
        subcommands: [Check.self, Bench.self, Tune.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every operation against the plain-loop CPU twin on odd shapes; exit 1 on any mismatch.")

        @OptionGroup var deviceOptions: DeviceOptions
        @Option(help: "Seed of the random inputs.") var seed: UInt64 = 2024
        @Flag(help: "On an OpenCL device, run the check once with every combination of kernel variants (matmul × rows), whatever the device's table or --kernel-variant picks.")
        var allVariants = false

        func run() throws {
            let backend = try deviceOptions.makeBackend()
            var failed = 0, total = 0, unsupported = 0
            var runs: [any Backend] = [backend]
            if allVariants, let openCL = backend as? OpenCLBackend {
                runs = try KernelVariants.allCombinations.map {
                    try OpenCLBackend(deviceIndex: openCL.device.index, variants: KernelVariantOverride(matmul: $0.matmul, rows: $0.rows))
                }
            } else if allVariants {
                print("note: \(backend.name) has no kernel variants; --all-variants checks it once")
            }
            var launched: Set<KernelName> = []
            for run in runs {
                print("checking \(run.name): \(run.deviceDescription)")
                let results = try KernelCheck.run(on: run, seed: seed)
                printResults(results)
                total += results.count
                unsupported += results.filter { !$0.supported }.count
                failed += results.filter { $0.supported && !$0.passed }.count
                if let openCL = run as? OpenCLBackend { launched.formUnion(openCL.launchedKernels) }
            }
            if runs.count > 1 || backend is OpenCLBackend {
                let missing = KernelName.allCases.filter { !launched.contains($0) }
                print("kernels launched: \(launched.count) of \(KernelName.allCases.count)"
                      + (missing.isEmpty ? "" : "; not exercised by these variants: " + missing.map(\.rawValue).joined(separator: ", ")))
            }
            print("\(total - failed - unsupported) passed, \(failed) failed" + (unsupported == 0 ? "" : ", \(unsupported) not supported"))
            if failed > 0 { throw ExitCode(1) }
        }

        private func printResults(_ results: [KernelCheck.Result]) {
            let operationWidth = max(10, results.map(\.operation.count).max() ?? 0)
            let shapeWidth = max(10, results.map(\.shape.count).max() ?? 0)
            print(pad("operation", operationWidth) + "  " + pad("shape", shapeWidth) + "  max abs err   max rel err   result")
            for result in results {
                let errors = result.supported
                    ? String(format: "%-12.3e  %-12.3e  ", result.comparison.maxAbsoluteError, result.comparison.maxRelativeError)
                    : pad("-", 12) + "  " + pad("-", 12) + "  "
                print(pad(result.operation, operationWidth) + "  " + pad(result.shape, shapeWidth) + "  " + errors
                      + (result.passed ? "pass" : result.supported ? "FAIL: \(result)" : "not supported"))
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure matmul GFLOP/s and softmax / layer-norm / copy GB/s at the encoder's shapes.")

        @OptionGroup var deviceOptions: DeviceOptions
        @Option(help: "Timed runs per figure; the median is reported.") var repeats: Int = 5
        @Flag(help: "Print one JSON object instead of a table.") var json = false
        @Option(help: "Square products N³ to time as well, comma-separated (e.g. 1024,4096).") var squareSizes: String?

        func validate() throws {
            try requireOption("--repeats", repeats, in: 1...1000)
            _ = try squares()
        }

        private func squares() throws -> [Int] {
            guard let squareSizes else { return [] }
            return try squareSizes.split(separator: ",").map {
                guard let size = Int($0.trimmingCharacters(in: .whitespaces)), (1...16384).contains(size) else {
                    throw ValidationError("--square-sizes: '\($0)' is not a size between 1 and 16384")
                }
                return size
            }
        }

        func run() throws {
            let backend = try deviceOptions.makeBackend()
            if !json { print("benchmarking \(backend.name): \(backend.deviceDescription)") }
            var figures: [KernelBenchmark.Figure] = []
            if let openCL = backend as? OpenCLBackend {
                // First: a fresh cache, so the first build compiles whatever ran before.
                figures += try KernelBenchmark.programBuildFigures(deviceIndex: openCL.device.index)
            }
            figures += try KernelBenchmark.run(on: backend, repeats: repeats)
            figures += try KernelBenchmark.squareProductFigures(on: backend, sizes: try squares(), repeats: repeats)
            figures += try KernelBenchmark.rawSGEMMFigures(repeats: repeats)
            if backend is CPUBackend { figures += KernelBenchmark.parallelRegionFigures(repeats: repeats) }
            if json {
                let report = BenchReport(
                    device: backend.name, deviceDescription: backend.deviceDescription,
                    blasCore: BLASInfo.current.coreName, date: ISO8601DateFormatter().string(from: Date()), figures: figures)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                for figure in figures {
                    print(pad(figure.name, 72) + String(format: "%10.2f %@   (%.3f ms)", figure.value, figure.unit, figure.seconds * 1000))
                }
                // BLASKernelAdvice, when it applies, was printed on standard error when the
                // backend opened.
            }
        }
    }
}

extension KernelsCommand {
    struct Tune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time every matrix-product kernel and tile on an OpenCL device and record the fastest for it.",
            discussion: """
                Each candidate (tiled 32/64, blocked 32/64/128 where the device runs their work-groups, \
                packed with vector width 4/8/16) is timed on a linear layer's product and checked against \
                the CPU backend; the fastest correct one is recorded under the device's name, platform and \
                driver version. GPUs are timed automatically on first use; this command re-times any device \
                (CPU drivers included) and overwrites its record. The record file is --record, else \
                $UPADAPTER_TUNING_FILE, else ~/.cache/upadapter/kernel-tuning.json.
                """)

        @Option(help: "OpenCL device, opencl or opencl:N.") var device: String = "opencl"
        @Option(help: "Product size: [size, 3·size/4] · [size, 3·size/4]ᵀ.") var size: Int = 1024
        @Option(help: "Timed runs per candidate after a warm-up; the median counts.") var repeats: Int = 3
        @Option(help: "The record file to write (default: $UPADAPTER_TUNING_FILE, else ~/.cache/upadapter/kernel-tuning.json).")
        var record: String?
        @Flag(help: "Print the timings without recording them.") var dryRun = false

        func validate() throws {
            try requireOption("--size", size, in: 4...16384)
            try requireOption("--repeats", repeats, in: 1...1000)
        }

        func run() throws {
            let selection = try DeviceSelection(parsing: device)
            guard case .openCL = selection else { throw ValidationError("--device must be opencl or opencl:N") }
            // Chosen without opening a backend, which would consult (and on a GPU create) the record.
            let devices = try OpenCLDiscovery.devices()
            let choice = try selection.choose(among: .success(devices.map(\.summary)))
            guard case .openCL(let index) = choice.target, let info = devices.first(where: { $0.index == index }) else {
                throw ValidationError("\(choice.reason): not an OpenCL device")
            }
            printError("device: \(choice.reason)")
            let k = max(3 * size / 4, 1)
            let flops = 2.0 * Double(size) * Double(size) * Double(k)
            print("opencl:\(index): \(info.name) (\(info.platformName), driver \(info.driverVersion)), product \(size)x\(k) · (\(size)x\(k))ᵀ")
            let started = Date()
            let measured = try TuningRecord.measure(deviceIndex: index, size: size, repeats: repeats) { candidate, result in
                switch result {
                case .success(let seconds):
                    print("  " + pad(candidate.description, 12) + String(format: "%9.3f ms  %8.1f GFLOP/s", seconds * 1000, flops / seconds / 1e9))
                case .failure(let error):
                    print("  " + pad(candidate.description, 12) + "  failed: \(error)")
                }
            }
            print(String(format: "fastest: %@ (tuning took %.1f s)", measured.choice.description, Date().timeIntervalSince(started)))
            guard !dryRun else { return }
            guard let file = record.map({ URL(fileURLWithPath: $0) }) ?? TuningRecord.fileURL() else {
                print("not recorded: \(TuningRecord.fileVariable)=off")
                return
            }
            try TuningRecord.store(measured, key: TuningRecord.key(for: info), in: file)
            print("recorded in \(file.path) under \"\(TuningRecord.key(for: info))\"")
        }
    }
}

struct BenchReport: Codable {
    let device: String
    let deviceDescription: String
    let blasCore: String
    let date: String
    let figures: [KernelBenchmark.Figure]
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
