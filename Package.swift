// swift-tools-version: 6.0
//
// UPAdapter: unsupervised prototype adaptation of CLIP, with OpenCL kernels and a CPU twin.

import PackageDescription

let package = Package(
    name: "UPAdapter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "upadapter", targets: ["upadapter"]),
        .library(name: "Compute", targets: ["Compute"]),
        .library(name: "CLIPEncoder", targets: ["CLIPEncoder"]),
        .library(name: "PseudoLabeling", targets: ["PseudoLabeling"]),
        .library(name: "PrototypeTrainer", targets: ["PrototypeTrainer"]),
        .library(name: "Adaptation", targets: ["Adaptation"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "FeatureCache", targets: ["FeatureCache"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .library(name: "ModelHub", targets: ["ModelHub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // System-library shims: with CVectorMath, CResample and CWorkerPool below, the only places C enters the project.
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // The CPU backend's exponential row passes in C, built for baseline x86-64 and for
        // AVX2 + FMA and chosen at run time (Swift code targets the baseline only).
        .target(name: "CVectorMath", path: "Sources/CVectorMath"),
        // The resampler's horizontal pass in AVX2, eight rows at a time (CLIPEncoder's images).
        .target(name: "CResample", dependencies: ["CVectorMath"], path: "Sources/CResample"),
        // The CPU backend's worker threads, which spin between parallel regions before they sleep.
        .target(name: "CWorkerPool", path: "Sources/CWorkerPool"),

        // Embeds Kernels/*.cl into the Compute module at build time.
        .executableTarget(name: "KernelEmbedder", path: "Sources/KernelEmbedder"),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["KernelEmbedder"],
            path: "Plugins/EmbedKernels"
        ),

        // What several modules share: atomic file writes, gzip inflation, readable error sentences.
        .target(name: "Support", dependencies: ["CZlib"]),
        .target(
            name: "Compute",
            dependencies: ["COpenCL", "CBLAS", "CVectorMath", "CWorkerPool", "FileIntegrity", "Support"],
            plugins: ["EmbedKernels"]
        ),
        // What guards files: SHA-256 (cache keys, download verification) and exclusive file locks.
        .target(name: "FileIntegrity"),
        // Ships OpenAI's BPE merges, the tokenizer of open_clip folders that carry none.
        .target(
            name: "CLIPEncoder", dependencies: ["Compute", "CPNG", "CJPEG", "CResample", "FileIntegrity", "Support"],
            resources: [.copy("Resources/bpe_simple_vocab_16e6.txt.gz")]
        ),
        .target(name: "PseudoLabeling", dependencies: ["Compute"]),
        .target(name: "PrototypeTrainer", dependencies: ["Compute"]),
        .target(name: "Adaptation", dependencies: ["Compute", "PseudoLabeling", "PrototypeTrainer"]),
        // Image datasets as labeled splits: folder layouts, CoOp split files, IDX, ImageNet and its variants, class profiles.
        .target(name: "Datasets", dependencies: ["CLIPEncoder", "Compute", "FileIntegrity", "Support"]),
        // Image features extracted once and kept on disk, keyed by model, data and preprocessing; the
        // image transforms (shifts, augmented views) applied on the way.
        .target(name: "FeatureCache", dependencies: ["Datasets", "CLIPEncoder", "Compute", "CZlib", "FileIntegrity", "Support"]),
        // A run's report: metrics.json, report.md and report.html, their tables and charts.
        .target(name: "Reports", dependencies: ["PseudoLabeling", "FileIntegrity", "Support"]),
        // Configuration, the pipeline of a run and sweeps over runs.
        .target(
            name: "Experiments",
            dependencies: [
                "Datasets", "FeatureCache", "Reports",
                "Compute", "CLIPEncoder", "PseudoLabeling", "PrototypeTrainer", "Adaptation", "FileIntegrity", "Support",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Downloads checkpoints from the Hugging Face hub (URLSession; libcurl on Linux).
        .target(name: "ModelHub", dependencies: ["FileIntegrity"]),
        .executableTarget(
            name: "upadapter",
            dependencies: [
                "Compute", "CLIPEncoder", "PseudoLabeling", "PrototypeTrainer", "Adaptation", "Datasets", "FeatureCache", "Reports",
                "Experiments", "ModelHub", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // What the test targets share: temporary folders, OpenCL discovery with the CI rule (a missing
        // device fails under CI, is skipped with a note elsewhere), fixture loaders that fail when they
        // load nothing, gzip compression and the loopback hub server.
        .target(name: "TestSupport", dependencies: ["Compute", "CZlib"], path: "Tests/TestSupport"),

        .testTarget(name: "ComputeTests", dependencies: ["Compute", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "FileIntegrityTests", dependencies: ["FileIntegrity", "TestSupport"]),
        .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"]),
        .testTarget(
            name: "CLIPEncoderTests", dependencies: ["CLIPEncoder", "Compute", "FileIntegrity", "Support", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PseudoLabelingTests", dependencies: ["PseudoLabeling", "Compute", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PrototypeTrainerTests", dependencies: ["PrototypeTrainer", "Compute", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "AdaptationTests", dependencies: ["Adaptation", "PrototypeTrainer", "PseudoLabeling", "Compute", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "ModelHubTests", dependencies: ["ModelHub", "FileIntegrity", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ExperimentsTests",
            dependencies: [
                "Datasets", "FeatureCache", "Reports", "Experiments", "Compute", "CLIPEncoder", "PseudoLabeling",
                "PrototypeTrainer", "Adaptation", "FileIntegrity", "Support", "TestSupport",
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "PseudoLabeling", "Support", "TestSupport"]),
        // The command-line tool as a user runs it: the built `upadapter` binary beside the tests.
        .testTarget(
            name: "upadapterTests",
            dependencies: ["Datasets", "FeatureCache", "Reports", "Experiments", "Compute", "CLIPEncoder", "Adaptation", "CZlib", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
