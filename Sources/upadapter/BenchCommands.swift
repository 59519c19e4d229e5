import Adaptation
import ArgumentParser
import PseudoLabeling
import CLIPEncoder
import Compute
import Foundation
import PrototypeTrainer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Throughput benchmarks of the encoder, the trainer and preprocessing.",
        subcommands: [EncoderBench.self, TrainerBench.self, PreprocessBench.self, MethodsBench.self])

    struct EncoderBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encoder",
            abstract: "Images/s and texts/s of the CLIP towers after warm-up, and peak memory.")

        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "Images (and texts) per batch.") var batch: Int = 64
        @Option(help: "Timed batches; the median is reported.") var repeats: Int = 3
        @Flag(help: "Print one JSON object.") var json = false
        @Flag(help: "Time breakdown: on OpenCL, launches per batch, host µs per launch and device time per kernel from OpenCL events (no extra synchronisation); on the CPU, time per operation.")
        var profile = false

        func validate() throws {
            try requireOption("--batch", batch, in: 1...4096)
            try requireOption("--repeats", repeats, in: 1...1000)
        }

        func run() throws {
            let backend = try modelOptions.deviceOptions.makeBackend()
            let outcome = try EncoderBenchmark.run(
                EncoderBenchmark.Settings(model: modelOptions.model, batch: batch, repeats: repeats, profile: profile), backend: backend)
            let report = outcome.report, context = outcome.sequenceLength
            let (imageProfile, textProfile) = (report.imageProfile, report.textProfile)
            let (imageLaunches, textLaunches) = (report.imageLaunches, report.textLaunches)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("encoder benchmark on \(backend.name): \(backend.deviceDescription)")
            print(String(format: "images: %.2f images/s (batch %d)", report.imagesPerSecond, batch))
            print(String(format: "texts:  %.2f texts/s (batch %d, %d-token sequences)", report.textsPerSecond, batch, context))
            print(String(format: "class prompts: %.2f prompts/s (batch %d, padded to %d tokens, run up to the last end-of-text token)",
                         report.promptsPerSecond, batch, context))
            print(String(format: "peak resident memory: %.0f MiB", report.peakResidentMegabytes))
            for (title, entries) in [("image tower", imageProfile), ("text tower", textProfile)] where !entries.isEmpty {
                printProfile(entries, title: "\(title) profile (all runs incl. warm-up)")
            }
            for (title, launches) in [("image tower", imageLaunches), ("text tower", textLaunches)] {
                guard let launches else { continue }
                print(String(format: "%@: %.0f kernel launches per batch, %.1f µs host time per launch "
                                 + "(%.1f µs in upadapter: kernel look-up and arguments; %.1f µs in the driver's enqueue)", title,
                             launches.launchesPerBatch, launches.hostMicrosecondsPerLaunch, launches.backendMicrosecondsPerLaunch,
                             launches.enqueueMicrosecondsPerLaunch))
                let total = launches.kernels.reduce(0) { $0 + $1.seconds }
                print("  device time per kernel (OpenCL events, the timed runs and medianSeconds' own warm-up):")
                for kernel in launches.kernels {
                    print("  " + pad(kernel.kernel, 28) + String(format: "%9.3f s  %5.1f%%  %6d launches", kernel.seconds,
                                                                  100 * kernel.seconds / max(total, 1e-12), kernel.calls))
                }
            }
        }
    }
}

/// Prints a per-operation time table, largest first as `OperationProfile.entries` orders it.
func printProfile(_ entries: [OperationProfile.Entry], title: String) {
    guard !entries.isEmpty else { return }
    let total = entries.reduce(0) { $0 + $1.seconds }
    print("\(title):")
    for entry in entries {
        print("  " + pad(entry.operation, 28) + String(format: "%9.4f s  %5.1f%%  %6d calls", entry.seconds,
                                                      100 * entry.seconds / max(total, 1e-12), entry.calls))
    }
}

extension BenchCommand {
    struct TrainerBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trainer",
            abstract: "Seconds per training epoch of the prototype head (median after a warm-up epoch).",
            discussion: "scripts/bench_trainer_vs_torch.py times the same head in PyTorch for comparison.")

        @OptionGroup var deviceOptions: DeviceOptions
        @Option(help: "Training rows (selected images).") var rows: Int = 16000
        @Option(help: "Classes.") var classes: Int = 1000
        @Option(help: "Feature width.") var dimension: Int = 512
        @Option(help: "Batch size.") var batchSize: Int = 256
        @Option(help: "Prototype kind: mean or cache.") var kind: String = "mean"
        @Option(help: "Timed training runs; the median is reported.") var repeats: Int = 3
        @Option(help: "Epochs per training run; the figure is a run's time divided by them (20 is the recipe's default).")
        var epochs: Int = 1
        @Flag(help: "Print one JSON object.") var json = false
        @Flag(help: "Time per training operation (CPU backends), summed over the warm-up and timed epochs.")
        var profile = false

        func validate() throws {
            try requireOption("--rows", rows, in: 1...10_000_000)
            try requireOption("--classes", classes, in: 1...100_000)
            try requireOption("--dimension", dimension, in: 1...16_384)
            try requireOption("--batch-size", batchSize, in: 1...1 << 20)
            try requireOption("--repeats", repeats, in: 1...1000)
            try requireOption("--epochs", epochs, in: 1...1000)
        }

        func run() throws {
            guard let prototypeKind = PrototypeKind(rawValue: kind) else { throw ValidationError("--kind must be mean or cache") }
            let device = try deviceOptions.makeBackend()
            let profiler = profile && !(device is OpenCLBackend) ? OperationProfile() : nil
            if let profiler, let host = device as? any HostBackend { host.profile = profiler }
            let backend = try trainingBackend(device)
            let sizes = PrototypeTrainer.BenchmarkCase(rows: rows, classes: classes, dimension: dimension, batchSize: batchSize, kind: prototypeKind,
                                                       epochs: epochs)
            let seconds = try PrototypeTrainer(backend: backend).benchmarkEpoch(sizes, repeats: repeats)
            defer { if let profiler { printProfile(profiler.entries, title: "trainer profile (warm-up and timed epochs)") } }
            if json {
                print("{\"device\": \"\(backend.name)\", \"rows\": \(rows), \"classes\": \(classes), \"dimension\": \(dimension), "
                      + "\"batch_size\": \(batchSize), \"kind\": \"\(kind)\", \"epochs\": \(epochs), \"seconds_per_epoch\": \(seconds)}")
            } else {
                print(String(format: "%@ (%@): %.4f s per epoch (%d rows, %d classes, dim %d, batch %d, %@, runs of %d epochs)",
                             backend.name, backend.deviceDescription, seconds, rows, classes, dimension, batchSize, kind, epochs))
            }
        }
    }
}

extension BenchCommand {
    /// `upadapter bench methods`: every label-free method on seeded synthetic clustered features,
    /// each in a process of its own so that its peak memory is its own.
    struct MethodsBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "methods",
            abstract: "Seconds, peak memory and accuracy of every label-free method on seeded synthetic clustered features.",
            discussion: "Each method runs in a child process (peak memory = that process's VmHWM). ImageNet's size: --pool 1281167 --test 50000 --classes 1000 --dimension 768.")

        @OptionGroup var deviceOptions: DeviceOptions
        @Option(help: "Unlabeled pool images.") var pool: Int = 60_000
        @Option(help: "Test images.") var test: Int = 10_000
        @Option(help: "Classes.") var classes: Int = 10
        @Option(help: "Feature width.") var dimension: Int = 64
        @Option(help: "Largest class / smallest class (1: balanced).") var imbalance: Double = 1
        @Option(help: "Seed of the features.") var seed: Int = 1
        @Option(help: "Run only this method (zero_shot, prior_transport, inmap, transclip_transductive, transclip_inductive, zlap_transductive, zlap_inductive); otherwise each in its own process.")
        var method: String?
        @Option(help: "Gradient steps of InMaP's vision proxies (its recipe: 2000); each of prior transport's 8 rounds takes a quarter of them (its recipe: 500). Fewer steps measure memory and the cost per step at sizes where the full fit takes hours; the output names the count.")
        var proxySteps: Int = 2000

        static let methodNames = MethodBenchmark.methodNames

        func validate() throws {
            try requireOption("--pool", pool, in: 1...100_000_000)
            try requireOption("--test", test, in: 1...100_000_000)
            try requireOption("--classes", classes, in: 2...100_000)
            try requireOption("--dimension", dimension, in: 2...16_384)
            try requireOption("--proxy-steps", proxySteps, in: 1...1_000_000)
            guard imbalance >= 1, imbalance <= 1e6 else { throw ValidationError("--imbalance must be in [1, 1000000]") }
            if let method, !Self.methodNames.contains(method) {
                throw ValidationError("--method must be one of " + Self.methodNames.joined(separator: ", "))
            }
        }

        func run() throws {
            guard let method else {
                // Unbuffered, so that the header comes before the children's lines.
                FileHandle.standardOutput.write(Data((
                    "bench methods: pool \(pool), test \(test), classes \(classes), dimension \(dimension), imbalance \(imbalance), seed \(seed), proxy steps \(proxySteps)\n"
                    + "method                   seconds  peak MiB  top-1 %  balanced %\n").utf8))
                for name in Self.methodNames {
                    let child = Process()
                    child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
                    child.arguments = Array(CommandLine.arguments.dropFirst()) + ["--method", name]
                    try child.run()
                    child.waitUntilExit()
                    if child.terminationStatus != 0 { print("\(name): exited with status \(child.terminationStatus)") }
                }
                return
            }
            let backend = try trainingBackend(try deviceOptions.makeBackend())
            let data = try SyntheticFeatures(poolImages: pool, testImages: test, classes: classes, dimension: dimension,
                                             imbalance: imbalance, seed: UInt64(seed))
            let result = try MethodBenchmark.run(
                try MethodBenchmark.method(named: method, proxySteps: proxySteps), on: data, backend: backend, seed: UInt64(seed))
            let padded = method.padding(toLength: max(24, method.count), withPad: " ", startingAt: 0)
            print(padded + String(format: " %8.1f  %8.0f  %7.2f  %10.2f", result.seconds, ProcessMemory.peakResidentMegabytes(), 100 * result.top1, 100 * result.balancedAccuracy))
        }
    }
}
