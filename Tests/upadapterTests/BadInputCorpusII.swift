import CLIPEncoder
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@testable import Experiments

/// The cases of issue 23 (Reliability II), by class: model folders that contradict themselves
/// (1), prompts cut or classes collapsed (2), conflicting keys and transforms (3), files that are
/// not regular files (4), secrets in hub errors (5), altered adapters and escape sequences in
/// names (6), sweep names that climb out of `sweeps/` (7). Written from the repository's
/// fixtures, run by `BadInputCorpusTests.corpusII` through the built `upadapter`.
extension BadInputCorpus {
    /// The three colour classes of the run cases (labels in code-point order: blue, green, red).
    static let colorClasses = ["red", "green", "blue"]

    /// A run configuration over the fixture model and the colour dataset in `data`, with
    /// `prompts` as the prompts section, `dataset` keys added to the dataset section and `extra`
    /// lines appended; small and fast.
    static func runConfiguration(data: URL, prompts: String, dataset: String = "", extra: String = "", root: URL) -> String {
        """
        base: \(repository.appendingPathComponent("Configs/base.yaml").path)
        model: {path: \(fixtureModel.path)}
        dataset: {kind: folder, name: Colors, root: \(data.path)\(dataset.isEmpty ? "" : ", " + dataset)}
        prompts: \(prompts)
        methods: [zero_shot, paper]
        primary_method: paper
        training: {epochs: 2}
        cache_dir: \(root.appendingPathComponent("cache").path)
        runs_dir: \(root.appendingPathComponent("runs").path)
        \(extra)
        """
    }

    /// Writes the files of every Reliability II case under `root` and returns the cases.
    static func writeReliabilityII(into root: URL) throws -> [Case] {
        var cases: [Case] = []
        let manager = FileManager.default
        func fifo(_ url: URL) throws {
            guard mkfifo(url.path, 0o644) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }

        // 1. Model folders that contradict themselves (`encode-image`, `encode-text`).
        func model(_ name: String, command: String = "encode-image", status: Int32 = 1, mention: [String], _ breakIt: (URL) throws -> Void) throws {
            let folder = root.appendingPathComponent(name)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            for file in ["config.json", "model.safetensors", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"] {
                try manager.copyItem(at: fixtureModel.appendingPathComponent(file).resolvingSymlinksInPath(), to: folder.appendingPathComponent(file))
            }
            try breakIt(folder)
            let input = command == "encode-image" ? fixtureImage.path : "a photo of a dog."
            cases.append(Case(name: name, arguments: [command, "--model", folder.path, "--device", "cpu", input],
                              expectedStatus: status, mustMention: mention))
        }
        func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
            var json = (try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]) ?? [:]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }
        let fixtureImageSize = try {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureModel.appendingPathComponent("config.json"))) as? [String: Any]
            return ((json?["vision_config"] as? [String: Any])?["image_size"] as? Int) ?? -1
        }()
        // Without a processor configuration the vision config's image_size is used, and said.
        try model("preprocessor-absent", status: 0, mention: ["preprocessor_config.json", "image_size \(fixtureImageSize)"]) { folder in
            try manager.removeItem(at: folder.appendingPathComponent("preprocessor_config.json"))
        }
        try model("preprocessor-crop-disagrees", mention: ["preprocessor_config.json", "crop_size", "56", "image_size is \(fixtureImageSize)"]) { folder in
            try editJSON(folder.appendingPathComponent("preprocessor_config.json")) { $0["crop_size"] = ["height": 56, "width": 56] }
        }
        try model("preprocessor-resize-below-crop", mention: ["preprocessor_config.json", "size", "20"]) { folder in
            try editJSON(folder.appendingPathComponent("preprocessor_config.json")) { $0["size"] = ["shortest_edge": 20] }
        }
        try model("preprocessor-no-rgb-conversion", mention: ["preprocessor_config.json", "do_convert_rgb"]) { folder in
            try editJSON(folder.appendingPathComponent("preprocessor_config.json")) { $0["do_convert_rgb"] = false }
        }
        try model("preprocessor-rescale-absurd", mention: ["preprocessor_config.json", "rescale_factor"]) { folder in
            try editJSON(folder.appendingPathComponent("preprocessor_config.json")) { $0["rescale_factor"] = 7.5 }
        }
        try model("layers-fewer-than-weights", command: "encode-text", mention: ["vision_model.encoder.layers.1", "config.json"]) { folder in
            try editJSON(folder.appendingPathComponent("config.json")) { json in
                var tower = json["vision_config"] as? [String: Any] ?? [:]
                tower["num_hidden_layers"] = 1
                json["vision_config"] = tower
            }
        }
        try model("weights-extra-tensor", command: "encode-text", mention: ["model.safetensors", "extra_head.weight"]) { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            let file = try SafeTensorsFile(url: url)
            var tensors = try file.names.map { (name: $0, shape: try file.info($0).shape, values: try file.floats($0)) }
            tensors.append((name: "extra_head.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
            try SafeTensorsWriter.write(tensors, metadata: [:], to: url)
        }
        try model("vocabulary-shared-id", command: "encode-text", mention: ["vocab.json", "share the id"]) { folder in
            let gz = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
            try CLIPTokenizer(openAIMergesFile: gz).writeHuggingFaceFiles(to: folder)
            try manager.removeItem(at: gz)
            try editJSON(folder.appendingPathComponent("vocab.json")) { json in
                json["dog</w>"] = json["cat</w>"]
            }
        }

        // 4. Only regular files are read: FIFOs (which block for ever) and devices (which never end).
        try model("weights-fifo", command: "encode-text", mention: ["model.safetensors", "not a regular file (FIFO)"]) { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            try manager.removeItem(at: url)
            try fifo(url)
        }
        try model("config-json-fifo", command: "encode-text", mention: ["config.json", "not a regular file (FIFO)"]) { folder in
            let url = folder.appendingPathComponent("config.json")
            try manager.removeItem(at: url)
            try fifo(url)
        }
        try model("preprocessor-fifo", mention: ["preprocessor_config.json", "not a regular file (FIFO)"]) { folder in
            let url = folder.appendingPathComponent("preprocessor_config.json")
            try manager.removeItem(at: url)
            try fifo(url)
        }
        try model("tokenizer-gz-fifo", command: "encode-text", mention: ["bpe_simple_vocab_16e6.txt.gz", "not a regular file (FIFO)"]) { folder in
            let url = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
            try manager.removeItem(at: url)
            try fifo(url)
        }
        let imageFIFO = root.appendingPathComponent("image-fifo.png")
        try fifo(imageFIFO)
        for (name, path, kind) in [("image-fifo", imageFIFO.path, "FIFO"), ("image-dev-zero", "/dev/zero", "character device"),
                                   ("image-dev-urandom", "/dev/urandom", "character device")] {
            cases.append(Case(name: name, arguments: ["encode-image", "--model", fixtureModel.path, "--device", "cpu", path],
                              expectedStatus: 1, mustMention: [path, "not a regular file (\(kind))"]))
        }
        cases.append(Case(name: "config-dev-urandom", arguments: ["config", "check", "/dev/urandom"],
                          expectedStatus: 1, mustMention: ["/dev/urandom", "not a regular file (character device)"]))
        let baseFIFO = root.appendingPathComponent("base-fifo.yaml")
        try fifo(baseFIFO)
        let withFIFOBase = root.appendingPathComponent("base-is-fifo.yaml")
        try Data("base: \(baseFIFO.path)\n".utf8).write(to: withFIFOBase)
        cases.append(Case(name: "yaml-base-fifo", arguments: ["config", "check", withFIFOBase.path],
                          expectedStatus: 1, mustMention: [baseFIFO.path, "not a regular file (FIFO)"]))
        let withZeroBase = root.appendingPathComponent("base-is-dev-zero.yaml")
        try Data("base: /dev/zero\n".utf8).write(to: withZeroBase)
        cases.append(Case(name: "yaml-base-dev-zero", arguments: ["config", "check", withZeroBase.path],
                          expectedStatus: 1, mustMention: ["/dev/zero", "not a regular file (character device)"]))
        let adapterFIFO = root.appendingPathComponent("adapter-fifo.safetensors")
        try fifo(adapterFIFO)
        cases.append(Case(name: "adapter-fifo", arguments: ["predict", "--adapter", adapterFIFO.path, "--model", fixtureModel.path, "--device", "cpu", fixtureImage.path],
                          expectedStatus: 1, mustMention: [adapterFIFO.path, "not a regular file (FIFO)"]))

        // 2. Nothing cut or collapsed silently (`run` over three colour classes).
        let data = root.appendingPathComponent("colors")
        try PipelineIntegrationTests.writeColorDataset(root: data, classes: colorClasses, perClass: 3)
        func run(_ name: String, prompts: String, dataset: String = "", status: Int32 = 1, mention: [String]) throws {
            let url = root.appendingPathComponent("\(name).yaml")
            try Data(runConfiguration(data: data, prompts: prompts, dataset: dataset, root: root.appendingPathComponent(name)).utf8).write(to: url)
            cases.append(Case(name: name, arguments: ["run", "--config", url.path, "--device", "cpu", "--quiet"],
                              expectedStatus: status, mustMention: mention))
        }
        // 80 words after the class name: every prompt is longer than the fixture's 77 tokens.
        let longTail = Array(repeating: "word", count: 80).joined(separator: " ")
        try run("prompt-too-long", prompts: "{templates: [\"a photo of a {}.\", \"a {} \(longTail).\"]}",
                mention: ["class 'blue'", "a {} word word", "tokens", "context length 77", "prompts.truncate"])
        try run("prompt-truncated-on-request", prompts: "{templates: [\"a {} \(longTail).\"], truncate: true}",
                status: 0, mention: ["warning:", "class 'red'", "cut to the context length 77"])
        try run("prompt-truncation-collapses-classes", prompts: "{templates: [\"\(longTail) {}.\"], truncate: true}",
                mention: ["classes 0 'blue' and 1 'green'", "same prompt tokens"])
        try run("class-names-duplicate", prompts: "{template: \"a photo of a {}.\"}", dataset: "class_names: [red, blue, red]",
                mention: ["classes 0 and 2", "'red'"])
        try run("class-names-differ-in-case-only", prompts: "{template: \"a photo of a {}.\"}", dataset: "class_names: [Red, red, blue]",
                mention: ["'Red'", "'red'", "same prompt tokens"])
        try run("class-name-empty", prompts: "{template: \"a photo of a {}.\"}", dataset: "class_names: [red, \"  \", blue]",
                mention: ["class 1", "empty name"])

        // 6. Adapters are checked like cache files, and names are printed escaped (`predict`).
        let embedding = try {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureModel.appendingPathComponent("config.json"))) as? [String: Any]
            return (json?["projection_dim"] as? Int) ?? -1
        }()
        func adapterTensors(classes: Int) -> [(name: String, shape: [Int], values: [Float])] {
            let rows = (0..<(classes * embedding)).map { Float(($0 * 37) % 101) / 101 - 0.5 }
            return [("text_classifier", [classes, embedding], rows), ("keys", [classes, embedding], rows),
                    ("key_classes", [classes], (0..<classes).map(Float.init)), ("alpha", [1], [1]), ("beta", [1], [1]), ("logit_scale", [1], [100])]
        }
        func checkedAdapter(_ name: String, classNames: [String], alter: (inout [(name: String, shape: [Int], values: [Float])]) -> Void) throws -> URL {
            var tensors = adapterTensors(classes: classNames.count)
            let namesText = String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)
            let checksum = AdapterFile.checksum(tensors.map(\.values), classNamesText: namesText)
            alter(&tensors)
            let url = root.appendingPathComponent("\(name).safetensors")
            try SafeTensorsWriter.write(tensors, metadata: ["class_names": namesText, "prototype_kind": "mean", "tensors_sha256": checksum], to: url)
            return url
        }
        let flipped = try checkedAdapter("adapter-bit-flip", classNames: ["a", "b"]) { tensors in
            tensors[0].values[7] = Float(bitPattern: tensors[0].values[7].bitPattern ^ 0x0000_0100)
        }
        cases.append(Case(name: "adapter-bit-flip", arguments: ["predict", "--adapter", flipped.path, "--model", fixtureModel.path, "--device", "cpu", fixtureImage.path],
                          expectedStatus: 1, mustMention: [flipped.path, "tensors_sha256", "altered"]))
        let escaping = try checkedAdapter("adapter-escape-names", classNames: ["\u{1B}[31mred\u{1B}[0m", "line\nbreak"]) { _ in }
        cases.append(Case(name: "adapter-escape-names", arguments: ["predict", "--adapter", escaping.path, "--model", fixtureModel.path, "--device", "cpu", fixtureImage.path],
                          expectedStatus: 0, mustMention: ["\\x1B[31mred\\x1B[0m", "line\\nbreak"], mustNotMention: ["\u{1B}", "line\nbreak"]))
        let unchecked = root.appendingPathComponent("adapter-without-checksum.safetensors")
        try SafeTensorsWriter.write(adapterTensors(classes: 2), metadata: ["class_names": "[\"a\",\"b\"]", "prototype_kind": "mean"], to: unchecked)
        cases.append(Case(name: "adapter-without-checksum", arguments: ["predict", "--adapter", unchecked.path, "--model", fixtureModel.path, "--device", "cpu", fixtureImage.path],
                          expectedStatus: 0, mustMention: ["note:", "no tensors_sha256"]))

        // 7. Sweep names are path components.
        let sweepConfig = root.appendingPathComponent("sweep-cell.yaml")
        try Data(runConfiguration(data: data, prompts: "{template: \"a photo of a {}.\"}", root: root.appendingPathComponent("sweep")).utf8).write(to: sweepConfig)
        for (name, text, mention) in [
            ("sweep-name-climbs", "name: ../../../../tmp/escaped-sweep\nconfigs: [\(sweepConfig.path)]\n", ["'name'", "path separator"]),
            ("sweep-name-dot-dot", "name: ..\nconfigs: [\(sweepConfig.path)]\n", ["'name'", "'..'"]),
            ("sweep-variant-dot-dot", "configs: [\(sweepConfig.path)]\nvariants: {'..': []}\n", ["variants", "'..'"]),
        ] {
            let url = root.appendingPathComponent("\(name).yaml")
            try Data(text.utf8).write(to: url)
            cases.append(Case(name: name, arguments: ["sweep", "--spec", url.path, "--list"], expectedStatus: 1, mustMention: mention))
        }

        // 5. No password or token is printed, whatever the endpoint or the server says.
        cases.append(Case(name: "download-endpoint-user-info",
                          arguments: ["model", "download", "openai/clip-vit-base-patch32", "--endpoint", "http://alice:hunter2secret@127.0.0.1:1",
                                      "--to", root.appendingPathComponent("download-user-info").path, "--attempts", "1"],
                          expectedStatus: 1, mustMention: ["127.0.0.1:1"], mustNotMention: ["hunter2secret"]))
        cases.append(Case(name: "download-bad-endpoint-user-info",
                          arguments: ["model", "download", "openai/clip-vit-base-patch32", "--endpoint", "ftp://alice:hunter2secret@mirror"],
                          expectedStatus: 1, mustMention: ["--endpoint", "mirror"], mustNotMention: ["hunter2secret"]))
        return cases
    }
}
