import CLIPEncoder
import Foundation
import TestSupport

/// The bad-input corpus of issue #12: malformed configurations, checkpoints, tokenizer files,
/// images, adapters, datasets and command-line flags, each with the `upadapter` command that
/// meets it and what that command must do (exit code, words the message must hold).
///
/// `write(into:)` generates every case's files from the repository's fixtures, so the corpus
/// is reproducible and needs nothing downloaded; `BadInputCorpusTests` runs them.
enum BadInputCorpus {
    /// One bad input and the expected outcome.
    struct Case: Sendable, CustomStringConvertible {
        /// Short identifier (also the folder holding its files).
        let name: String
        /// Arguments of `upadapter`.
        let arguments: [String]
        /// 1 for a refused input, 64 for a usage error.
        let expectedStatus: Int32
        /// Every string must appear in the output (the input's path, key or tensor).
        let mustMention: [String]
        /// No string may appear in the output (a password, a raw escape sequence).
        var mustNotMention: [String] = []

        var description: String { name }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtureModel = repository.appendingPathComponent("Tests/CLIPEncoderTests/Fixtures/model")
    static let fixtureImage = repository.appendingPathComponent("Tests/CLIPEncoderTests/Fixtures/images/photo_300x250.png")

    /// Writes the files of every case under `root` and returns the cases.
    static func write(into root: URL) throws -> [Case] {
        var cases: [Case] = []
        let manager = FileManager.default

        // Configurations (`config check`): values, YAML structure, files.
        let minimal = """
            model: {path: /nonexistent/model}
            dataset: {kind: folder, name: x, root: /nonexistent/data}
            prompts: {template: "a photo of a {}."}

            """
        func config(_ name: String, _ text: String, mention: [String] = []) throws {
            let url = root.appendingPathComponent("\(name).yaml")
            try Data(text.utf8).write(to: url)
            cases.append(Case(name: name, arguments: ["config", "check", url.path], expectedStatus: 1, mustMention: [url.lastPathComponent] + mention))
        }
        var bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 { bomb.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]") }
        try config("yaml-alias-bomb", bomb.joined(separator: "\n") + "\n", mention: ["aliases"])
        try config("yaml-huge", "# " + String(repeating: "x", count: 2 << 20) + "\n", mention: ["bytes"])
        try config("yaml-syntax", "model: [unclosed\n", mention: [])
        try config("yaml-not-mapping", "- a\n- b\n", mention: ["mapping"])
        try config("learning-rate-inf", minimal + "training: {learning_rate: .inf}\n", mention: ["training.learning_rate"])
        try config("weight-decay-inf", minimal + "training: {weight_decay: .inf}\n", mention: ["training.weight_decay"])
        try config("epochs-huge", minimal + "training: {epochs: 100000000000}\n", mention: ["training.epochs"])
        try config("adapter-beta-inf", minimal + "adapter: {beta: .inf}\n", mention: ["adapter.beta"])
        try config("adapter-alpha-1e300", minimal + "adapter: {alpha: 1e300}\n", mention: ["adapter.alpha"])
        try config("augment-views-huge", minimal + "prototypes: {augment_views: 1000000000}\n", mention: ["prototypes.augment_views"])
        try config("top-k-huge", minimal + "selection: {top_k: 1000000000000}\n", mention: ["selection.top_k"])
        try config("shots-duplicate", minimal + "baselines: {supervised_shots: [1, 8, 8]}\n", mention: ["baselines.supervised_shots"])
        try config("base-is-folder", "base: \(root.path)\n" + minimal, mention: [root.path])
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: root.appendingPathComponent("yaml-binary.yaml"))
        cases.append(Case(name: "yaml-binary", arguments: ["config", "check", root.appendingPathComponent("yaml-binary.yaml").path],
                          expectedStatus: 1, mustMention: ["yaml-binary.yaml"]))
        let configFolder = root.appendingPathComponent("config-is-folder.yaml")
        try manager.createDirectory(at: configFolder, withIntermediateDirectories: true)
        cases.append(Case(name: "config-is-folder", arguments: ["config", "check", configFolder.path],
                          expectedStatus: 1, mustMention: [configFolder.path, "folder"]))
        cases.append(Case(name: "yaml-missing", arguments: ["config", "check", root.appendingPathComponent("missing.yaml").path],
                          expectedStatus: 1, mustMention: ["missing.yaml"]))

        // Command-line integers: usage errors whichever way they are written.
        let adapterArguments = ["predict", "--adapter", "a.safetensors", "--model", fixtureModel.path, fixtureImage.path]
        cases.append(Case(name: "top-equals-negative", arguments: adapterArguments + ["--top=-3"], expectedStatus: 64, mustMention: ["--top"]))
        cases.append(Case(name: "top-space-negative", arguments: adapterArguments + ["--top", "-3"], expectedStatus: 64, mustMention: ["--top"]))
        cases.append(Case(name: "top-zero", arguments: adapterArguments + ["--top=0"], expectedStatus: 64, mustMention: ["--top"]))
        let extract = ["extract", "--config", root.appendingPathComponent("learning-rate-inf.yaml").path, "--device", "cpu"]
        cases.append(Case(name: "shard-overflow", arguments: extract + ["--shard", "999999999999999999/1000000000000000000"],
                          expectedStatus: 64, mustMention: ["--shard", "999999999999999999/1000000000000000000"]))
        cases.append(Case(name: "shard-garbage", arguments: extract + ["--shard", "1/two"], expectedStatus: 64, mustMention: ["--shard", "1/two"]))
        cases.append(Case(name: "bench-rows-negative", arguments: ["bench", "trainer", "--rows=-5"], expectedStatus: 64, mustMention: ["--rows"]))
        cases.append(Case(name: "batch-size-zero", arguments: ["encode-image", "--model", fixtureModel.path, "--batch-size=0", fixtureImage.path],
                          expectedStatus: 64, mustMention: ["--batch-size"]))

        // Checkpoints (`encode-text`): a copy of the fixture model with one thing broken.
        func model(_ name: String, mention: [String], _ breakIt: (URL) throws -> Void) throws {
            let folder = root.appendingPathComponent(name)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            for file in ["config.json", "model.safetensors", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"] {
                try manager.copyItem(at: fixtureModel.appendingPathComponent(file).resolvingSymlinksInPath(), to: folder.appendingPathComponent(file))
            }
            try breakIt(folder)
            cases.append(Case(name: name, arguments: ["encode-text", "--model", folder.path, "--device", "cpu", "a photo of a dog."],
                              expectedStatus: 1, mustMention: mention))
        }
        func editConfig(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
            let url = folder.appendingPathComponent("config.json")
            var json = (try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]) ?? [:]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }
        for section in ["vision_config", "text_config"] {
            try model("layers-huge-\(section)", mention: ["\(section).num_hidden_layers", "config.json"]) { folder in
                try editConfig(folder) { json in
                    var tower = json[section] as? [String: Any] ?? [:]
                    tower["num_hidden_layers"] = 1_000_000_000
                    json[section] = tower
                }
            }
        }
        try model("layer-norm-eps-huge", mention: ["config.json", "layer_norm_eps"]) { folder in
            try editConfig(folder) { json in
                var tower = json["text_config"] as? [String: Any] ?? [:]
                tower["layer_norm_eps"] = 1e300
                json["text_config"] = tower
            }
        }
        try model("weight-nan", mention: ["vision_model.post_layernorm.weight", "model.safetensors"]) {
            try patchFirstHalf($0.appendingPathComponent("model.safetensors"), tensor: "vision_model.post_layernorm.weight", bits: 0x7e00)
        }
        try model("weight-inf", mention: ["text_projection.weight"]) {
            try patchFirstHalf($0.appendingPathComponent("model.safetensors"), tensor: "text_projection.weight", bits: 0xfc00)
        }
        try model("logit-scale-1000", mention: ["logit_scale"]) {
            try patchFirstHalf($0.appendingPathComponent("model.safetensors"), tensor: "logit_scale", bits: 0x63d0)
        }
        try model("weights-truncated", mention: ["model.safetensors"]) { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            try Data(try Data(contentsOf: url).prefix(5000)).write(to: url)
        }
        try model("weights-header-garbage", mention: ["model.safetensors"]) { folder in
            try Data([16, 0, 0, 0, 0, 0, 0, 0] + Array("{\"a\": [1, 2, 3".utf8) + [UInt8](repeating: 0, count: 64))
                .write(to: folder.appendingPathComponent("model.safetensors"))
        }
        try model("config-not-json", mention: ["config.json"]) { folder in
            try Data("{\"vision_config\": ".utf8).write(to: folder.appendingPathComponent("config.json"))
        }
        try model("tokenizer-gzip-corrupt", mention: ["bpe_simple_vocab_16e6.txt.gz"]) { folder in
            let url = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
            var bytes = [UInt8](try Data(contentsOf: url))
            for index in stride(from: 100, to: bytes.count, by: 7) { bytes[index] ^= 0x5a }
            try Data(bytes).write(to: url)
        }
        try model("vocab-id-out-of-range", mention: ["vocab.json", "text_config.vocab_size"]) { folder in
            // Hugging Face files of the real vocabulary (ids up to 49407) with a config promising 1000 tokens.
            let gz = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
            try CLIPTokenizer(openAIMergesFile: gz).writeHuggingFaceFiles(to: folder)
            try manager.removeItem(at: gz)
            try editConfig(folder) { json in
                var text = json["text_config"] as? [String: Any] ?? [:]
                text["vocab_size"] = 1000
                json["text_config"] = text
            }
        }
        try model("preprocessor-size-huge", mention: ["preprocessor_config.json", "size"]) { folder in
            let url = folder.appendingPathComponent("preprocessor_config.json")
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\"shortest_edge\": 35", with: "\"shortest_edge\": 100000")
            try Data(text.utf8).write(to: url)
        }
        try model("merges-empty", mention: ["merges.txt"]) { folder in
            try manager.removeItem(at: folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz"))
            try Data("{\"a</w>\": 0}".utf8).write(to: folder.appendingPathComponent("vocab.json"))
            try Data("#version: 0.2\n".utf8).write(to: folder.appendingPathComponent("merges.txt"))
        }

        // Images (`encode-image`).
        func image(_ name: String, _ bytes: Data) throws {
            let url = root.appendingPathComponent(name)
            try bytes.write(to: url)
            cases.append(Case(name: name, arguments: ["encode-image", "--model", fixtureModel.path, "--device", "cpu", url.path],
                              expectedStatus: 1, mustMention: [name]))
        }
        let png = try Data(contentsOf: fixtureImage)
        try image("image-empty.png", Data())
        try image("image-truncated.png", png.prefix(png.count / 3))
        try image("image-garbage.jpg", Data([0xff, 0xd8, 0xff, 0xe0] + [UInt8](repeating: 0x41, count: 300)))
        try image("image-text.png", Data("not an image at all\n".utf8))
        let imageFolder = root.appendingPathComponent("image-is-folder.png")
        try manager.createDirectory(at: imageFolder, withIntermediateDirectories: true)
        cases.append(Case(name: "image-is-folder", arguments: ["encode-image", "--model", fixtureModel.path, "--device", "cpu", imageFolder.path],
                          expectedStatus: 1, mustMention: [imageFolder.path, "folder"]))

        // Adapter files (`predict`): refused before the model is used.
        func adapter(_ name: String, mention: [String], _ edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void) throws {
            var tensors: [(name: String, shape: [Int], values: [Float])] = [
                ("text_classifier", [2, 24], [Float](repeating: 0.2, count: 48)), ("keys", [2, 24], [Float](repeating: 0.2, count: 48)),
                ("key_classes", [2], [0, 1]), ("alpha", [1], [1]), ("beta", [1], [1]), ("logit_scale", [1], [100]),
            ]
            edit(&tensors)
            let url = root.appendingPathComponent("\(name).safetensors")
            try SafeTensorsWriter.write(tensors, metadata: ["class_names": "[\"a\",\"b\"]", "prototype_kind": "mean"], to: url)
            cases.append(Case(name: name, arguments: ["predict", "--adapter", url.path, "--model", fixtureModel.path, "--device", "cpu", fixtureImage.path],
                              expectedStatus: 1, mustMention: [url.lastPathComponent] + mention))
        }
        try adapter("adapter-file-alpha-nan", mention: ["alpha"]) { $0[3].values = [.nan] }
        try adapter("adapter-file-beta-inf", mention: ["beta"]) { $0[4].values = [.infinity] }
        try adapter("adapter-file-logit-scale-negative", mention: ["logit_scale"]) { $0[5].values = [-100] }
        try adapter("adapter-file-keys-nan", mention: ["keys"]) { $0[1].values[5] = .nan }
        try adapter("adapter-file-key-classes-nan", mention: ["key_classes"]) { $0[2].values = [.nan, 1] }
        try adapter("adapter-file-key-classes-out-of-range", mention: ["key_classes"]) { $0[2].values = [0, 7] }
        try adapter("adapter-file-key-classes-huge", mention: ["key_classes"]) { $0[2].values = [0, 1e30] }

        // Datasets (`run`): a gzip bomb in place of an IDX file.
        let data = root.appendingPathComponent("idx-bomb")
        try manager.createDirectory(at: data, withIntermediateDirectories: true)
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]
        try gzip(header + [UInt8](repeating: 0, count: 64 << 20)).write(to: data.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try gzip([0, 0, 8, 1, 0, 0, 0, 10] + [UInt8](repeating: 0, count: 10)).write(to: data.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            try manager.copyItem(at: data.appendingPathComponent(name.replacingOccurrences(of: "t10k", with: "train") + ".gz"),
                                 to: data.appendingPathComponent(name + ".gz"))
        }
        let bombConfig = root.appendingPathComponent("idx-bomb.yaml")
        try """
            model: {path: \(fixtureModel.path)}
            dataset: {kind: idx, name: Noise, root: \(data.path), class_names: [a, b, c]}
            prompts: {template: "a photo of a {}."}
            cache_dir: \(root.appendingPathComponent("idx-bomb-cache").path)
            runs_dir: \(root.appendingPathComponent("idx-bomb-runs").path)
            """.write(to: bombConfig, atomically: true, encoding: .utf8)
        cases.append(Case(name: "idx-gzip-bomb", arguments: ["run", "--config", bombConfig.path, "--device", "cpu", "--quiet"],
                          expectedStatus: 1, mustMention: ["train-images-idx3-ubyte.gz", "more than 7856 bytes"]))

        // `model download`: a malformed hub id is a usage error; no network gives the manual way.
        cases.append(Case(name: "download-bad-id", arguments: ["model", "download", "a/b/c"], expectedStatus: 64, mustMention: ["a/b/c"]))
        cases.append(Case(name: "download-bad-endpoint", arguments: ["model", "download", "openai/clip-vit-base-patch32", "--endpoint", "ftp://mirror"],
                          expectedStatus: 1, mustMention: ["--endpoint", "ftp://mirror"]))
        cases.append(Case(name: "download-no-network",
                          arguments: ["model", "download", "openai/clip-vit-base-patch32", "--endpoint", "http://127.0.0.1:1",
                                      "--to", root.appendingPathComponent("download-no-network").path],
                          expectedStatus: 1, mustMention: ["127.0.0.1:1", "huggingface-cli download openai/clip-vit-base-patch32"]))
        return cases
    }

    /// Overwrites the first element of F16 tensor `tensor` of the safetensors file at `url`.
    static func patchFirstHalf(_ url: URL, tensor: String, bits: UInt16) throws {
        let info = try SafeTensorsFile(url: url).info(tensor)
        var bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let offset = 8 + headerLength + info.dataOffsets.lowerBound
        bytes[offset] = UInt8(bits & 0xff)
        bytes[offset + 1] = UInt8(bits >> 8)
        try Data(bytes).write(to: url)
    }

    static func gzip(_ bytes: [UInt8]) throws -> Data {
        try GzipCompression.compress(bytes)
    }
}
