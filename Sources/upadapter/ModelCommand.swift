import ArgumentParser
import Foundation
import ModelHub

/// `upadapter model …`: getting checkpoints.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Get CLIP checkpoints.",
        subcommands: [ModelDownloadCommand.self]
    )
}

/// `upadapter model download <hub id>`: fetches a checkpoint folder from the Hugging Face hub.
struct ModelDownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a CLIP checkpoint (Hugging Face or open_clip folder) from the Hugging Face hub.",
        discussion: """
            Fetches config.json, model.safetensors, preprocessor_config.json and the tokenizer files \
            (or open_clip_config.json and open_clip_model.safetensors) over HTTPS. Each file is received \
            into FILE.part, continued after an interruption (run the command again to resume), checked \
            against the hub's published size and sha256, then moved into place. HF_ENDPOINT selects a \
            mirror; HF_TOKEN (else the file `huggingface-cli login` writes) is sent for gated or private \
            models, and never printed. Progress goes to standard error; the folder's path to standard output.
            """
    )

    @Argument(help: ArgumentHelp("The model's hub id, e.g. openai/clip-vit-base-patch32.", valueName: "hub-id"))
    var model: String

    @Option(name: .long, help: ArgumentHelp("Branch, tag or commit.", valueName: "revision"))
    var revision: String = "main"

    @Option(name: .customLong("to"), help: ArgumentHelp("Destination folder (default: the model's name in the current folder).", valueName: "folder"))
    var folder: String?

    @Option(name: .long, help: ArgumentHelp("Folder format to take when a repository holds both: huggingface or open_clip (default: the one present, Hugging Face first).", valueName: "format"))
    var format: String?

    @Option(name: .long, help: ArgumentHelp("Hub address (default: HF_ENDPOINT, else https://huggingface.co).", valueName: "url"))
    var endpoint: String?

    @Option(name: .long, help: ArgumentHelp("Tries per file before giving up (a broken transfer resumes where it stopped).", valueName: "n"))
    var attempts: Int = 4

    @Option(name: .long, help: ArgumentHelp("Seconds without data before a request is abandoned.", valueName: "seconds"))
    var timeout: Int = 60

    func validate() throws {
        do {
            try ModelDownloader.validate(model: model)
        } catch {
            throw ValidationError(String(describing: error))
        }
        if revision.isEmpty || revision.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true }) {
            throw ValidationError("--revision must be a branch, tag or commit, got '\(revision)'")
        }
        if let format, CheckpointFormat(rawValue: format) == nil {
            throw ValidationError("--format must be huggingface or open_clip, got '\(format)'")
        }
        try requireOption("--attempts", attempts, in: 1...100)
        try requireOption("--timeout", timeout, in: 1...3600)
    }

    func run() throws {
        do {
            try download()
        } catch let error as ModelHubError {
            // Settings errors echo HF_ENDPOINT or --endpoint: no password or token may be printed.
            let token = (try? HubSettings.fromEnvironment())?.token
            throw error.redacted { ModelDownloader.redact($0, token: token) }
        }
    }

    private func download() throws {
        var settings = try HubSettings.fromEnvironment()
        if let endpoint { settings.endpoint = try HubSettings.endpoint(endpoint, source: "--endpoint") }
        settings.attempts = attempts
        settings.timeout = TimeInterval(timeout)
        let destination = URL(fileURLWithPath: folder.map { NSString(string: $0).expandingTildeInPath }
                              ?? String(model.split(separator: "/").last ?? Substring(model)))
        let downloader = ModelDownloader(settings: settings, interactive: isatty(STDERR_FILENO) == 1) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
        let summary = try downloader.download(model: model, revision: revision, format: format.flatMap(CheckpointFormat.init(rawValue:)),
                                              to: destination.standardizedFileURL)
        var done = "\(summary.downloaded.count) file(s) downloaded (\(summary.bytesReceived) bytes)"
        if !summary.alreadyPresent.isEmpty { done += ", \(summary.alreadyPresent.count) already present" }
        printError("\(done); use it with --set model.path=\(summary.folder.path) (or --model)")
        print(summary.folder.path)
    }
}
