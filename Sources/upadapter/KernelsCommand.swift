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
            var failed = 0, total = 0
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
                failed += results.filter { !$0.passed }.count
                if let openCL = run as? OpenCLBackend { launched.formUnion(openCL.launchedKernels) }
            }
            if runs.count > 1 || backend is OpenCLBackend {
                let missing = KernelName.allCases.filter { !launched.contains($0) }
                print("kernels launched: \(launched.count) of \(KernelName.allCases.count)"
                      + (missing.isEmpty ? "" : "; not exercised by these variants: " + missing.map(\.rawValue).joined(separator: ", ")))
            }
            print("\(total - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }

        private func printResults(_ results: [KernelCheck.Result]) {
            let operationWidth = max(10, results.map(\.operation.count).max() ?? 0)
            let shapeWidth = max(10, results.map(\.shape.count).max() ?? 0)
            print(pad("operation", operationWidth) + "  " + pad("shape", shapeWidth) + "  max abs err   max rel err   result")
            for result in results {
                print(pad(result.operation, operationWidth) + "  " + pad(result.shape, shapeWidth) + "  "
                      + String(format: "%-12.3e  %-12.3e  ", result.comparison.maxAbsoluteError, result.comparison.maxRelativeError)
                      + (result.passed ? "pass" : "FAIL: \(result.comparison)"))
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure matmul GFLOP/s and softmax / layer-norm / copy GB/s at the encoder's shapes.")

        @OptionGroup var deviceOptions: DeviceOptions
        @Option(help: "Timed runs per figure; the median is reported.") var repeats: Int = 5
        @Flag(help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            try requireOption("--repeats", repeats, in: 1...1000)
        }

        func run() throws {
            let backend = try deviceOptions.makeBackend()
            if !json { print("benchmarking \(backend.name): \(backend.deviceDescription)") }
            var figures = try KernelBenchmark.run(on: backend, repeats: repeats)
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
            abstract: "Time every matrix-product kernel on an OpenCL device and record the fastest for it.",
            discussion: "GPUs are timed automatically on first use; this command re-times any device (CPU drivers included) and overwrites its record. The record file is $UPADAPTER_TUNING_FILE, else ~/.cache/upadapter/kernel-tuning.json.")

        @Option(help: "OpenCL device, opencl or opencl:N.") var device: String = "opencl"
        @Option(help: "Product size: [size, 3·size/4] · [size, 3·size/4]ᵀ.") var size: Int = 1024
        @Flag(help: "Print the timings without recording them.") var dryRun = false

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
            let record = try TuningRecord.measure(deviceIndex: index, size: size)
            print("opencl:\(index): \(info.name), product \(record.shape)")
            for variant in MatmulVariant.allCases {
                let seconds = record.seconds[variant.rawValue]
                let flops = 2.0 * Double(size) * Double(size) * Double(3 * size / 4)
                print("  " + pad(variant.rawValue, 8) + (seconds.map { String(format: "%9.3f ms  %8.1f GFLOP/s", $0 * 1000, flops / $0 / 1e9) } ?? "  failed"))
            }
            print("fastest: \(record.matmul)")
            guard !dryRun else { return }
            guard let file = TuningRecord.fileURL() else {
                print("not recorded: \(TuningRecord.fileVariable)=off")
                return
            }
            try TuningRecord.store(record, key: TuningRecord.key(for: info), in: file)
            print("recorded in \(file.path)")
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
