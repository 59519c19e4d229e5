import Compute
import Foundation

/// Images/s and texts/s of the CLIP towers after warm-up, and the process's peak memory: the
/// figures `upadapter bench encoder` prints. With profiling, the CPU backends time each
/// operation through their launch hook (`OperationProfile`), and OpenCL reports its launches per
/// batch, host time per launch and device time per kernel from its own events.
public enum EncoderBenchmark {
    /// Launch counts and device time per kernel of one tower on OpenCL.
    public struct LaunchProfile: Codable, Sendable {
        public let launchesPerBatch: Double
        public let hostMicrosecondsPerLaunch: Double
        /// The part of `hostMicrosecondsPerLaunch` spent in upadapter, and the part in `clEnqueueNDRangeKernel`.
        public let backendMicrosecondsPerLaunch: Double
        public let enqueueMicrosecondsPerLaunch: Double
        public let kernels: [OpenCLBackend.KernelTime]
    }

    /// The figures of one run (`bench encoder --json`).
    public struct Report: Codable, Sendable {
        public let device: String
        public let deviceDescription: String
        public let model: String
        public let batch: Int
        public let imagesPerSecond: Double
        /// Full-length token sequences: the figure compared with PyTorch.
        public let textsPerSecond: Double
        /// Tokenized class prompts ("a photo of a dog number 3."), as zero-shot classifiers encode them.
        public let promptsPerSecond: Double
        public let peakResidentMegabytes: Double
        public let threads: Int
        public let imageProfile: [OperationProfile.Entry]
        public let textProfile: [OperationProfile.Entry]
        public let imageLaunches: LaunchProfile?
        public let textLaunches: LaunchProfile?
    }

    /// What one run measures.
    public struct Settings: Sendable {
        /// The model folder, as the report names it.
        public var model: String
        /// Images (and texts) per batch.
        public var batch: Int
        /// Timed batches; the median is reported.
        public var repeats: Int
        /// Whether to gather the time breakdown.
        public var profile: Bool

        public init(model: String, batch: Int, repeats: Int, profile: Bool) {
            self.model = model
            self.batch = batch
            self.repeats = repeats
            self.profile = profile
        }
    }

    /// A run's report, with the token-sequence length its text figure was measured at.
    public struct Outcome: Sendable {
        public let report: Report
        /// Tokens per text sequence (the model's context length).
        public let sequenceLength: Int
    }

    /// Loads the model of `settings` on `backend` and times both towers on seeded inputs.
    /// - Throws: the error of loading the model or of an encoder pass.
    public static func run(_ settings: Settings, backend: any Backend) throws -> Outcome {
        let openCL = backend as? OpenCLBackend
        // OpenCL is profiled from its own events and launch counters; the CPU backends, which
        // run synchronously anyway, through their per-operation launch hook.
        let profiler = settings.profile && openCL == nil ? OperationProfile() : nil
        if let profiler, let host = backend as? any HostBackend { host.profile = profiler }
        let model = try CLIPModel(directory: URL(fileURLWithPath: (settings.model as NSString).expandingTildeInPath), backend: backend)
        let inputs = try Inputs(model: model, batch: settings.batch)
        let timer = Timer(backend: backend, openCL: settings.profile ? openCL : nil, repeats: settings.repeats)
        let (imageSeconds, imageLaunches) = try timer.time { _ = try model.encodeImages(pixels: inputs.pixels) }
        let imageProfile = profiler?.entries ?? []
        profiler?.reset()
        let (textSeconds, textLaunches) = try timer.time { _ = try model.encodeTokens(inputs.tokens) }
        let textProfile = profiler?.entries ?? []
        let promptSeconds = try KernelBenchmark.medianSeconds(repeats: settings.repeats, synchronize: backend.synchronize) {
            _ = try model.encodeTokens(inputs.promptTokens)
        }
        let batch = Double(settings.batch)
        let report = Report(
            device: backend.name, deviceDescription: backend.deviceDescription, model: settings.model,
            batch: settings.batch, imagesPerSecond: batch / imageSeconds, textsPerSecond: batch / textSeconds,
            promptsPerSecond: batch / promptSeconds,
            peakResidentMegabytes: ProcessMemory.peakResidentMegabytes(), threads: ProcessInfo.processInfo.activeProcessorCount,
            imageProfile: imageProfile, textProfile: textProfile, imageLaunches: imageLaunches, textLaunches: textLaunches)
        return Outcome(report: report, sequenceLength: model.configuration.text.maximumPositionCount)
    }

    /// The seeded inputs of a run: normal pixels, full-length token sequences and class prompts.
    struct Inputs {
        let pixels: [Float]
        let tokens: [[Int32]]
        let promptTokens: [[Int32]]

        init(model: CLIPModel, batch: Int) throws {
            let vision = model.configuration.vision
            var generator = SeededGenerator(seed: 5)
            pixels = generator.normal(count: batch * 3 * vision.imageSize * vision.imageSize)
            let prompts = (0..<batch).map { "a photo of a \(["dog", "cat", "diagram", "satellite field", "person doing yoga"][$0 % 5]) number \($0)." }
            promptTokens = try model.tokenizer.tokenize(prompts, contextLength: model.configuration.text.maximumPositionCount)
            // Full-length sequences (end-of-text token last), as scripts/bench_encoder_vs_torch.py
            // gives PyTorch: the same work on both sides. Class prompts run shorter (see TextTower).
            let context = model.configuration.text.maximumPositionCount
            let (start, end) = (model.tokenizer.startOfTextToken, model.tokenizer.endOfTextToken)
            tokens = (0..<batch).map { _ in
                [start] + (0..<(context - 2)).map { _ in Int32.random(in: 1..<min(40_000, end), using: &generator) } + [end]
            }
        }
    }

    /// Median seconds of a tower's batch and, on a profiled OpenCL backend, its launch profile.
    struct Timer {
        let backend: any Backend
        /// The OpenCL backend to profile (`nil`: no launch profile).
        let openCL: OpenCLBackend?
        let repeats: Int

        func time(_ body: () throws -> Void) throws -> (seconds: Double, launches: LaunchProfile?) {
            guard let openCL else {
                return (try KernelBenchmark.medianSeconds(repeats: repeats, synchronize: backend.synchronize, body), nil)
            }
            // Programs are built on first use: keep that out of the per-launch figures.
            try body()
            try openCL.synchronize()
            try openCL.resetKernelTimes()
            openCL.resetLaunchStatistics()
            openCL.collectsKernelTimes = true
            defer { openCL.collectsKernelTimes = false }
            let seconds = try KernelBenchmark.medianSeconds(repeats: repeats, synchronize: backend.synchronize, body)
            let statistics = openCL.launchStatistics
            let runs = repeats + 1  // medianSeconds runs one warm-up first
            return (seconds, LaunchProfile(
                launchesPerBatch: Double(statistics.launches) / Double(runs),
                hostMicrosecondsPerLaunch: statistics.hostMicrosecondsPerLaunch,
                backendMicrosecondsPerLaunch: statistics.backendMicrosecondsPerLaunch,
                enqueueMicrosecondsPerLaunch: statistics.enqueueMicrosecondsPerLaunch,
                kernels: try openCL.kernelTimes()))
        }
    }
}
