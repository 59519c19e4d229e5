import Foundation
import TestSupport
import Testing

@testable import ModelHub

/// `ModelDownloader` against `LoopbackHubServer`: whole downloads, broken transfers resumed,
/// checksum and size mismatches, 404s, an unreachable endpoint, and the token's discretion.
@Suite("Model download from a loopback hub")
struct ModelDownloaderTests {
    static let token = "hf_TestSecretToken0123456789"

    /// Collects every message the downloader writes.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func write(_ text: String) { lock.withLock { lines.append(text) } }
        var text: String { lock.withLock { lines.joined() } }
    }

    struct Fixture: Sendable {
        let server: LoopbackHubServer
        let folder: URL
        let log = Log()

        func downloader(token: String? = nil, attempts: Int = 4) -> ModelDownloader {
            var settings = HubSettings(endpoint: server.endpoint, token: token)
            settings.attempts = attempts
            settings.retryDelay = 0
            settings.timeout = 20
            let log = self.log
            return ModelDownloader(settings: settings) { log.write($0) }
        }

        /// The fixture file as the hub holds it.
        func original(_ model: String, _ file: String) throws -> Data {
            try Data(contentsOf: LoopbackHubServer.fixtures.appendingPathComponent("hub/\(model)/\(file)"))
        }

        func contents(_ file: String) throws -> Data {
            try Data(contentsOf: folder.appendingPathComponent(file))
        }

        func exists(_ file: String) -> Bool {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path)
        }
    }

    static func fixture(_ name: String) throws -> Fixture {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-hub-\(name)-\(UUID().uuidString)/model")
        return Fixture(server: try LoopbackHubServer(), folder: folder)
    }

    static func cleanUp(_ fixture: Fixture) {
        fixture.server.stop()
        try? FileManager.default.removeItem(at: fixture.folder.deletingLastPathComponent())
    }

    static let huggingFaceFiles = ["config.json", "merges.txt", "model.safetensors", "preprocessor_config.json", "vocab.json"]

    @Test("A Hugging Face checkpoint is downloaded whole and verified; a second run finds it present")
    func fullDownload() throws {
        let fixture = try Self.fixture("full")
        defer { Self.cleanUp(fixture) }
        let summary = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(summary.format == .huggingFace)
        #expect(Set(summary.downloaded) == Set(Self.huggingFaceFiles))
        for file in Self.huggingFaceFiles {
            #expect(try fixture.contents(file) == fixture.original("test-org/tiny-clip", file), "\(file)")
            #expect(!fixture.exists(file + ".part"))
        }
        #expect(!fixture.exists("pytorch_model.bin") && !fixture.exists("README.md"))
        // Every file came from the commit the revision resolved to.
        let commit = summary.commit!
        #expect(fixture.server.requests.filter { $0.path.contains("/resolve/") }.allSatisfy { $0.path.contains("/resolve/\(commit)/") })
        #expect(fixture.log.text.contains("model.safetensors") && fixture.log.text.contains("/s"))

        let again = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(again.downloaded.isEmpty)
        #expect(Set(again.alreadyPresent) == Set(Self.huggingFaceFiles))
    }

    @Test("An open_clip checkpoint takes its config and safetensors weights, not the .bin")
    func openClip() throws {
        let fixture = try Self.fixture("openclip")
        defer { Self.cleanUp(fixture) }
        let summary = try fixture.downloader().download(model: "test-org/tiny-open-clip", revision: "main", to: fixture.folder)
        #expect(summary.format == .openClip)
        #expect(Set(summary.downloaded) == ["open_clip_config.json", "open_clip_model.safetensors"])
        #expect(try fixture.contents("open_clip_model.safetensors") == fixture.original("test-org/tiny-open-clip", "open_clip_model.safetensors"))
        #expect(!fixture.exists("open_clip_pytorch_model.bin"))
    }

    @Test("A transfer closed mid-body keeps its part file; the next run resumes it with a Range request")
    func interruptedThenResumed() throws {
        let fixture = try Self.fixture("resume")
        defer { Self.cleanUp(fixture) }
        fixture.server.cut("model.safetensors", after: 50_000)
        #expect {
            try fixture.downloader(attempts: 1).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        } throws: { error in
            guard case .interrupted(let file, let received, _, let part, _) = error as? ModelHubError else { return false }
            return file == "model.safetensors" && received == 50_000 && part.hasSuffix("model.safetensors.part")
        }
        #expect(!fixture.exists("model.safetensors"))
        #expect(try fixture.contents("model.safetensors.part") == fixture.original("test-org/tiny-clip", "model.safetensors").prefix(50_000))

        let summary = try fixture.downloader(attempts: 1).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(summary.downloaded == ["model.safetensors"])
        #expect(summary.bytesReceived == 150_001 - 50_000)
        #expect(fixture.server.requests(forFile: "model.safetensors").last?.header("Range") == "bytes=50000-")
        #expect(try fixture.contents("model.safetensors") == fixture.original("test-org/tiny-clip", "model.safetensors"))
        #expect(!fixture.exists("model.safetensors.part"))
        #expect(fixture.log.text.contains("resuming at 50.0 kB"))
    }

    @Test("Within one run, a transfer that breaks off twice is resumed from where it stopped")
    func retriedWithinRun() throws {
        let fixture = try Self.fixture("retry")
        defer { Self.cleanUp(fixture) }
        fixture.server.cut("model.safetensors", after: 30_000)
        fixture.server.cut("model.safetensors", after: 40_000)
        _ = try fixture.downloader(attempts: 3).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        let ranges = fixture.server.requests(forFile: "model.safetensors").map { $0.header("Range") }
        #expect(ranges == [nil, "bytes=30000-", "bytes=70000-"])
        #expect(try fixture.contents("model.safetensors") == fixture.original("test-org/tiny-clip", "model.safetensors"))
    }

    @Test("A server that ignores Range makes the part file start over, still verified")
    func rangeIgnored() throws {
        let fixture = try Self.fixture("norange")
        defer { Self.cleanUp(fixture) }
        fixture.server.ignoreRange()
        fixture.server.cut("model.safetensors", after: 20_000)
        _ = try fixture.downloader(attempts: 2).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(try fixture.contents("model.safetensors") == fixture.original("test-org/tiny-clip", "model.safetensors"))
    }

    @Test("Three downloads into one folder at once all succeed, taking turns, with whole files")
    func concurrentDownloads() throws {
        let fixture = try Self.fixture("concurrent")
        defer { Self.cleanUp(fixture) }
        // Threads, not tasks: each download blocks while it waits for the folder's lock.
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var all: [Result<ModelDownloader.Summary, any Error>] = []
        }
        let collected = Results()
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            let result = Result { try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder) }
            collected.lock.withLock { collected.all.append(result) }
        }
        let results = collected.lock.withLock { collected.all }
        #expect(results.count == 3)
        for result in results {
            if case .failure(let error) = result { Issue.record("a concurrent download failed: \(error)") }
        }
        let downloads = results.compactMap { try? $0.get().downloaded.count }
        #expect(downloads.reduce(0, +) == Self.huggingFaceFiles.count, "each file fetched once: \(downloads)")
        for file in Self.huggingFaceFiles {
            #expect(try fixture.contents(file) == fixture.original("test-org/tiny-clip", file), "\(file)")
        }
    }

    @Test("Without published sizes, a part file longer than the file (416) is started over, then verified")
    func partLongerThanFile() throws {
        let fixture = try Self.fixture("416")
        defer { Self.cleanUp(fixture) }
        fixture.server.hideSizes()
        try FileManager.default.createDirectory(at: fixture.folder, withIntermediateDirectories: true)
        let original = try fixture.original("test-org/tiny-clip", "model.safetensors")
        try (original + Data(repeating: 7, count: 10)).write(to: fixture.folder.appendingPathComponent("model.safetensors.part"))
        _ = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(fixture.server.requests(forFile: "model.safetensors").map { $0.header("Range") } == ["bytes=150011-", nil])
        #expect(try fixture.contents("model.safetensors") == original)
    }

    @Test("A wrong published sha256 removes the part file and names the file; nothing is moved into place")
    func wrongChecksum() throws {
        let fixture = try Self.fixture("checksum")
        defer { Self.cleanUp(fixture) }
        fixture.server.publishWrongDigest(for: "model.safetensors")
        var message = ""
        #expect {
            try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        } throws: { error in
            message = String(describing: error)
            guard case .checksumMismatch(let file, _, _) = error as? ModelHubError else { return false }
            return file == "model.safetensors"
        }
        #expect(message.contains("model.safetensors") && message.contains("sha256") && message.contains("removed"))
        #expect(!fixture.exists("model.safetensors"))
        #expect(!fixture.exists("model.safetensors.part"))
    }

    @Test("A damaged file already in place is fetched again, not trusted")
    func damagedFileReplaced() throws {
        let fixture = try Self.fixture("damaged")
        defer { Self.cleanUp(fixture) }
        _ = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        var damaged = try fixture.contents("model.safetensors")
        damaged[1000] ^= 0xff
        try damaged.write(to: fixture.folder.appendingPathComponent("model.safetensors"))
        let summary = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(summary.downloaded == ["model.safetensors"])
        #expect(try fixture.contents("model.safetensors") == fixture.original("test-org/tiny-clip", "model.safetensors"))
    }

    @Test("404s: no such model, no such revision, no such file, each named")
    func notFound() throws {
        let fixture = try Self.fixture("404")
        defer { Self.cleanUp(fixture) }
        func message(_ model: String, _ revision: String) -> String {
            do {
                _ = try fixture.downloader().download(model: model, revision: revision, to: fixture.folder)
                return "no error"
            } catch {
                return String(describing: error)
            }
        }
        let model = message("test-org/no-such-model", "main")
        #expect(model.contains("no such model 'test-org/no-such-model'") && model.contains("HF_TOKEN"))
        let revision = message("test-org/tiny-clip", "v9.9")
        #expect(revision.contains("no such revision 'v9.9'") && revision.contains("test-org/tiny-clip"))
        fixture.server.remove("merges.txt")
        let file = message("test-org/tiny-clip", "main")
        #expect(file.contains("no such file 'merges.txt'") && file.contains("test-org/tiny-clip"))
        #expect(!fixture.exists("merges.txt") && !fixture.exists("merges.txt.part"))
    }

    @Test("A repository without loadable weights says which files it lacks")
    func notACheckpoint() throws {
        let revision = HubRevision(model: "x/y", revision: "main", commit: nil, files: [
            HubFile(name: "config.json", size: 10, sha256: nil), HubFile(name: "pytorch_model.bin", size: 10, sha256: nil),
        ])
        #expect {
            try CheckpointFormat.select(from: revision, format: nil)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("model.safetensors") && text.contains("pytorch_model.bin") && text.contains("open_clip_model.safetensors")
        }
    }

    @Test("An unreachable endpoint gives the manual alternative")
    func unreachable() throws {
        var settings = HubSettings(endpoint: URL(string: "http://127.0.0.1:\(LoopbackHubServer.closedPort())")!)
        settings.retryDelay = 0
        let downloader = ModelDownloader(settings: settings) { _ in }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-hub-unreachable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try downloader.download(model: "openai/clip-vit-base-patch32", revision: "main", to: folder)
        } throws: { error in
            let text = String(describing: error)
            guard case .unreachable = error as? ModelHubError else { return false }
            return text.contains("cannot reach the model hub") && text.contains("huggingface-cli download openai/clip-vit-base-patch32")
                && text.contains("/openai/clip-vit-base-patch32/tree/main")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test("The token is sent as a Bearer header and appears in no message, also on errors")
    func tokenDiscretion() throws {
        let fixture = try Self.fixture("token")
        defer { Self.cleanUp(fixture) }
        let downloader = fixture.downloader(token: Self.token)
        _ = try downloader.download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        fixture.server.publishWrongDigest(for: "open_clip_model.safetensors")
        var message = ""
        do {
            _ = try downloader.download(model: "test-org/tiny-open-clip", revision: "main", to: fixture.folder)
        } catch {
            message = String(describing: error)
        }
        #expect(!message.isEmpty)
        let requests = fixture.server.requests
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.header("Authorization") == "Bearer \(Self.token)" })
        #expect(!fixture.log.text.contains(Self.token) && !message.contains(Self.token))
        #expect(ModelDownloader.redact("echo \(Self.token)", token: Self.token) == "echo [HF_TOKEN]")
        // Nothing written to the folder holds it either.
        for file in try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path) {
            let data = try Data(contentsOf: fixture.folder.appendingPathComponent(file))
            #expect(data.range(of: Data(Self.token.utf8)) == nil, "\(file)")
        }
    }

    @Test("A redirect to another host (the hub's CDN) is followed without the token")
    func redirectDropsToken() throws {
        let fixture = try Self.fixture("redirect")
        defer { Self.cleanUp(fixture) }
        let cdn = try LoopbackHubServer()
        defer { cdn.stop() }
        fixture.server.redirectFiles(to: cdn.endpoint)
        _ = try fixture.downloader(token: Self.token).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(try fixture.contents("model.safetensors") == fixture.original("test-org/tiny-clip", "model.safetensors"))
        #expect(fixture.server.requests.allSatisfy { $0.header("Authorization") == "Bearer \(Self.token)" })
        #expect(cdn.requests(forFile: "model.safetensors").count == 1)
        #expect(cdn.requests.allSatisfy { $0.header("Authorization") == nil }, "\(cdn.requests.map(\.headers))")
    }

    @Test("HF_ENDPOINT and HF_TOKEN are read from the environment; a bad endpoint is refused by name")
    func environment() throws {
        let settings = try HubSettings.fromEnvironment(["HF_ENDPOINT": "http://127.0.0.1:9/", "HF_TOKEN": " \(Self.token)\n", "HOME": "/nonexistent"])
        #expect(settings.endpoint.absoluteString == "http://127.0.0.1:9")
        #expect(settings.token == Self.token)
        let defaults = try HubSettings.fromEnvironment(["HOME": "/nonexistent"])
        #expect(defaults.endpoint == HubSettings.publicEndpoint && defaults.token == nil)
        #expect {
            try HubSettings.fromEnvironment(["HF_ENDPOINT": "ftp://mirror"])
        } throws: { String(describing: $0).contains("HF_ENDPOINT") }
        #expect(throws: ModelHubError.self) { try ModelDownloader.validate(model: "../etc/passwd") }
        #expect(throws: ModelHubError.self) { try ModelDownloader.validate(model: "a/b/c") }
        try ModelDownloader.validate(model: "openai/clip-vit-base-patch32")
        try ModelDownloader.validate(model: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K")
    }

    @Test("Progress lines carry size, percentage, rate and ETA")
    func progressLine() {
        let progress = TransferProgress(file: "model.safetensors", total: 2_000_000, startBytes: 0, interactive: false) { _ in }
        progress.update(500_000)
        let line = progress.describe(at: Date().addingTimeInterval(2))
        #expect(line.contains("500.0 kB / 2.0 MB (25 %)") && line.contains("kB/s") && line.contains("ETA 0:0"))
        #expect(TransferProgress.bytes(605_157_884) == "605.2 MB")
        #expect(TransferProgress.duration(3723) == "1:02:03")
    }
}
