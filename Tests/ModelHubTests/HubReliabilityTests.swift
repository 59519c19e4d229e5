import FileIntegrity
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import ModelHub

/// Issue 23, class 5: the hub's numbers are checked, secrets never printed, small files verified
/// by content, time-outs named. Each against `LoopbackHubServer` or a socket that never answers.
@Suite("Hub download: sizes, secrets, content of small files, time-outs")
struct HubReliabilityTests {
    static let token = "hf_AnotherSecret9876543210abc"

    static func fixture(_ name: String) throws -> ModelDownloaderTests.Fixture {
        try ModelDownloaderTests.fixture("reliability-\(name)")
    }

    @Test("SHA-1 and git blob ids match the standard's vectors and git's own ids")
    func sha1Vectors() throws {
        // FIPS 180 examples, and `git hash-object` of an empty file and of "hello\n".
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        var million = SHA1()
        for _ in 0..<1000 { million.update([UInt8](repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(million.finalizeHex() == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-sha1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty"), hello = folder.appendingPathComponent("hello")
        try Data().write(to: empty)
        try Data("hello\n".utf8).write(to: hello)
        #expect(try ModelDownloader.gitBlobId(of: empty) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        #expect(try ModelDownloader.gitBlobId(of: hello) == "ce013625030ba8dba906f756967f9e9ca394464a")
    }

    @Test("A file's digest equals hashlib's for the fixture weights")
    func fileDigest() throws {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: LoopbackHubServer.fixtures.appendingPathComponent("hub/manifest.json"))) as! [String: [String: Any]]
        let siblings = manifest["test-org/tiny-clip"]!["siblings"] as! [[String: Any]]
        let weights = siblings.first { $0["rfilename"] as? String == "model.safetensors" }!
        let expected = (weights["lfs"] as! [String: Any])["sha256"] as! String
        let file = LoopbackHubServer.fixtures.appendingPathComponent("hub/test-org/tiny-clip/model.safetensors")
        #expect(try ModelDownloader.sha256(of: file) == expected)
    }

    @Test("A small file in place with the right size but other content is fetched again")
    func smallFileVerifiedByContent() throws {
        let fixture = try Self.fixture("blob")
        defer { ModelDownloaderTests.cleanUp(fixture) }
        _ = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        for name in ["config.json", "vocab.json"] {
            var other = try fixture.contents(name)
            other[other.count / 2] = other[other.count / 2] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
            try other.write(to: fixture.folder.appendingPathComponent(name))
        }
        let summary = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        #expect(Set(summary.downloaded) == ["config.json", "vocab.json"])
        for name in ["config.json", "vocab.json"] {
            #expect(try fixture.contents(name) == fixture.original("test-org/tiny-clip", name))
        }
    }

    @Test("Sizes past the limit, past Int64 or not integers are refused naming the file; no trap")
    func absurdSizes() throws {
        for size: Any in [Int64.max, NSNumber(value: 1e30), NSNumber(value: Double(1 << 41)), NSNumber(value: -5)] {
            let fixture = try Self.fixture("size")
            defer { ModelDownloaderTests.cleanUp(fixture) }
            fixture.server.publishSize(size, for: "config.json")
            var message = ""
            #expect(throws: ModelHubError.self) {
                do {
                    _ = try fixture.downloader().download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
                } catch {
                    message = String(describing: error)
                    throw error
                }
            }
            #expect(message.contains("config.json"), "\(size): \(message)")
            #expect(!fixture.exists("config.json"))
        }
    }

    @Test("A server that echoes the Authorization header in its error: the token is in no message")
    func echoedTokenRedacted() throws {
        let fixture = try Self.fixture("echo")
        defer { ModelDownloaderTests.cleanUp(fixture) }
        fixture.server.echoAuthorizationOnError()
        var message = ""
        do {
            _ = try fixture.downloader(token: Self.token).download(model: "test-org/tiny-clip", revision: "main", to: fixture.folder)
        } catch {
            message = String(describing: error)
        }
        #expect(message.contains("HTTP 400") && message.contains("request refused"), "\(message)")
        #expect(!message.contains(Self.token) && !fixture.log.text.contains(Self.token), "\(message)")
        #expect(!message.contains("hf_"), "\(message)")
    }

    @Test("URL user info (user:password@) and bearer credentials are redacted in every text")
    func userInfoRedacted() throws {
        let redacted = ModelDownloader.redact(
            "http://alice:s3cr3t@hub.example/x and HTTPS://bob@mirror.example:8080/y, Authorization: Bearer abc.def-ghi", token: nil)
        #expect(!redacted.contains("s3cr3t") && !redacted.contains("alice") && !redacted.contains("bob@"))
        #expect(!redacted.contains("abc.def-ghi"))
        #expect(redacted.contains("hub.example/x") && redacted.contains("mirror.example:8080/y"))
        // End to end: an endpoint with user info that cannot be reached.
        let port = LoopbackHubServer.closedPort()
        var settings = HubSettings(endpoint: URL(string: "http://alice:s3cr3t@127.0.0.1:\(port)")!, token: nil)
        settings.attempts = 1
        settings.retryDelay = 0
        let log = ModelDownloaderTests.Log()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-userinfo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var message = ""
        do {
            _ = try ModelDownloader(settings: settings) { log.write($0) }.download(model: "test-org/tiny-clip", revision: "main", to: folder)
        } catch {
            message = String(describing: error)
        }
        #expect(!message.isEmpty)
        #expect(!message.contains("s3cr3t") && !log.text.contains("s3cr3t"), "\(message)")
    }

    @Test("A server that accepts but never answers: the error says it timed out, after how long")
    func timeOutNamed() throws {
        // A listening socket nobody accepts from: the kernel completes the connection, no byte comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        #expect(listen(listener, 8) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        var settings = HubSettings(endpoint: URL(string: "http://127.0.0.1:\(port)")!, token: nil)
        settings.timeout = 1
        settings.attempts = 1
        settings.retryDelay = 0
        var message = ""
        do {
            _ = try ModelDownloader(settings: settings) { _ in }.revision(model: "test-org/tiny-clip", revision: "main")
        } catch {
            message = String(describing: error)
            if case .timedOut(_, let seconds)? = error as? ModelHubError { #expect(seconds == 1) } else { Issue.record("not a time-out: \(message)") }
        }
        #expect(message.contains("timed out after 1 s"), "\(message)")
        #expect(!message.contains("No network"), "\(message)")
    }
}
