import Foundation
import TestSupport
import Testing

/// Issue 23, class 3: `config check --paths` and `run` share one validation pass, made before
/// any model is loaded. Every configuration case goes through both commands of the built
/// `upadapter`; they must agree (both accept, or both refuse with the same error line).
@Suite("config check and run agree on every configuration", .serialized)
struct ConfigAgreementTests {
    /// A case: the YAML lines added to a valid run configuration, and words the refusal must
    /// hold (nil for a configuration both must accept).
    struct Case: CustomStringConvertible {
        let name: String
        let body: String
        let mention: [String]?
        var description: String { name }
    }

    /// The `Error: …` line of a command's output, if any.
    static func errorLine(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init)
    }

    @Test("Exclusive pairs, transforms, ranges and path kinds: both commands refuse alike, before loading the model")
    func agreement() throws {
        let root = try TemporaryFolder.create("config-agreement")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("colors")
        try PipelineIntegrationTests.writeColorDataset(root: data, classes: ["red", "green", "blue"], perClass: 3)
        let namesFile = root.appendingPathComponent("names.txt")
        try Data("red\ngreen\nblue\n".utf8).write(to: namesFile)
        let aFile = PipelineIntegrationTests.fixtureModel.appendingPathComponent("config.json").path
        let head = """
            base: \(PipelineIntegrationTests.repository.appendingPathComponent("Configs/base.yaml").path)
            methods: [zero_shot, paper]
            primary_method: paper
            training: {epochs: 2}
            cache_dir: \(root.appendingPathComponent("cache").path)
            runs_dir: \(root.appendingPathComponent("runs").path)

            """
        let model = "model: {path: \(PipelineIntegrationTests.fixtureModel.path)}\n"
        let dataset = "dataset: {kind: folder, name: Colors, root: \(data.path)}\n"
        let prompts = "prompts: {template: \"a photo of a {}.\"}\n"
        let cases: [Case] = [
            Case(name: "template-and-templates", body: model + dataset + "prompts: {template: \"a {}.\", templates: [\"a photo of a {}.\"]}\n",
                 mention: ["prompts.templates", "'template' and 'templates' exclude each other"]),
            Case(name: "class-names-and-file", body: model + prompts
                    + "dataset: {kind: folder, name: Colors, root: \(data.path), class_names: [r, g, b], class_names_file: \(namesFile.path)}\n",
                 mention: ["dataset.class_names_file", "exclude each other"]),
            Case(name: "top-k-and-min-confidence", body: model + dataset + prompts + "selection: {top_k: 8, min_confidence: 0.2}\n",
                 mention: ["selection.min_confidence", "'top_k' and 'min_confidence' exclude each other"]),
            Case(name: "transform-unknown-name", body: model + prompts
                    + "dataset: {kind: folder, name: Colors, root: \(data.path), transform: {name: rotate}}\n",
                 mention: ["dataset.transform.name", "rotate", "unknown name"]),
            Case(name: "transform-unknown-parameter", body: model + prompts
                    + "dataset: {kind: folder, name: Colors, root: \(data.path), transform: {name: pixelate, parameters: {radius: 3}}}\n",
                 mention: ["dataset.transform.name", "radius"]),
            Case(name: "transform-sigma-absurd", body: model + prompts
                    + "dataset: {kind: folder, name: Colors, root: \(data.path), transform: {name: blur_noise, parameters: {sigma: 1000}}}\n",
                 mention: ["dataset.transform.name", "sigma"]),
            Case(name: "model-path-is-a-file", body: "model: {path: \(aFile)}\n" + dataset + prompts,
                 mention: ["model.path", "a folder is needed"]),
            Case(name: "dataset-root-is-a-file", body: model + prompts + "dataset: {kind: folder, name: Colors, root: \(aFile)}\n",
                 mention: ["dataset.root", "a folder is needed"]),
            Case(name: "class-names-file-is-a-folder", body: model + prompts
                    + "dataset: {kind: folder, name: Colors, root: \(data.path), class_names_file: \(data.path)}\n",
                 mention: ["dataset.class_names_file", "a regular file is needed"]),
            // Last: the only case that writes a run folder.
            Case(name: "valid", body: model + dataset + prompts, mention: nil),
        ]
        for item in cases {
            let url = root.appendingPathComponent("\(item.name).yaml")
            try Data((head + item.body).utf8).write(to: url)
            let check = try PipelineIntegrationTests.run(["config", "check", "--paths", url.path])
            let run = try PipelineIntegrationTests.run(["run", "--config", url.path, "--device", "cpu", "--quiet"])
            guard let mention = item.mention else {
                #expect(check.status == 0, "\(item): config check refused it\n\(check.output)")
                #expect(run.status == 0, "\(item): run refused it\n\(run.output)")
                continue
            }
            #expect(check.status == 1 && run.status == 1, "\(item): config check \(check.status), run \(run.status)\n\(check.output)\n\(run.output)")
            let checkError = Self.errorLine(check.output), runError = Self.errorLine(run.output)
            #expect(checkError != nil && checkError == runError, "\(item): the commands disagree\n\(check.output)\n---\n\(run.output)")
            for word in mention {
                #expect(checkError?.contains(word) == true, "\(item): '\(word)' missing from \(checkError ?? check.output)")
            }
            // Refused before any work: no feature was extracted, no run folder written.
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("runs").path), "\(item)")
            #expect(!run.output.contains("features"), "\(item): work started before the refusal\n\(run.output)")
        }
    }
}
