import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 with the hub's URL layout, serving the fixture
/// repositories of `Fixtures/hub` (written by `scripts/make_model_hub_fixtures.py`):
///
/// - `GET /api/models/{owner}/{name}/revision/{rev}` → the revision's `siblings` (with sizes and
///   LFS sha256) and commit; `401 RepoNotFound` / `404 RevisionNotFound` as the hub answers;
/// - `GET /api/models/{owner}/{name}` → 200 or 404;
/// - `GET /{owner}/{name}/resolve/{rev}/{file}` → the file, honouring `Range: bytes=N-` (206);
///   `404 EntryNotFound` for a file it lacks.
///
/// Faults on demand: a body cut after some bytes (the connection closed mid-body), a wrong
/// published sha256, a listed file that is missing, a server that ignores `Range`. Each
/// connection is served on its own thread and closed after one response. Every request is
/// recorded with its headers.
public final class LoopbackHubServer: @unchecked Sendable {
    public struct Request: Sendable {
        public let path: String
        public let headers: [String: String]

        public func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    struct Repository {
        let commit: String
        let siblings: [[String: Any]]
        let files: [String: Data]
    }

    public static let fixtures = Fixtures.repository.appendingPathComponent("Tests/ModelHubTests/Fixtures")

    public let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var repositories: [String: Repository] = [:]
    private var recorded: [Request] = []
    private var cuts: [String: [Int]] = [:]
    private var wrongDigests: Set<String> = []
    private var missing: Set<String> = []
    private var ignoresRange = false
    private var hidesSizes = false
    private var echoesAuthorization = false
    private var sizeOverrides: [String: Any] = [:]
    private var redirectTarget: URL?
    private var stopped = false

    /// Starts listening on an ephemeral port of 127.0.0.1.
    public init() throws {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("hub/manifest.json"))) as! [String: [String: Any]]
        for (model, entry) in manifest {
            let siblings = entry["siblings"] as! [[String: Any]]
            var files: [String: Data] = [:]
            for sibling in siblings {
                let name = sibling["rfilename"] as! String
                files[name] = try Data(contentsOf: Self.fixtures.appendingPathComponent("hub/\(model)/\(name)"))
            }
            repositories[model] = Repository(commit: entry["commit"] as! String, siblings: siblings, files: files)
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { close(descriptor); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Every request so far.
    public var requests: [Request] { lock.withLock { recorded } }

    /// The requests for one file of a repository.
    public func requests(forFile file: String) -> [Request] {
        requests.filter { $0.path.contains("/resolve/") && $0.path.hasSuffix("/\(file)") }
    }

    /// The next responses for `file` send only `bytes` of the body, then close the connection
    /// (one entry per response).
    public func cut(_ file: String, after bytes: Int, times: Int = 1) {
        lock.withLock { cuts[file, default: []] += Array(repeating: bytes, count: times) }
    }

    /// The listing publishes a wrong sha256 for `file`.
    public func publishWrongDigest(for file: String) { lock.withLock { _ = wrongDigests.insert(file) } }

    /// `file` stays listed but its resolve URL answers 404.
    public func remove(_ file: String) { lock.withLock { _ = missing.insert(file) } }

    /// Every file's resolve URL answers `302 Found` to the same path on `target` (as the hub
    /// sends large files to its CDN, another host).
    public func redirectFiles(to target: URL) { lock.withLock { redirectTarget = target } }

    /// The listing publishes no sizes (a mirror without `?blobs=true` support); LFS files keep their sha256.
    public func hideSizes() { lock.withLock { hidesSizes = true } }

    /// Every API request is answered `400` with an error message (in `X-Error-Message` and in
    /// the JSON body) that echoes the request's `Authorization` header, as careless servers do.
    public func echoAuthorizationOnError() { lock.withLock { echoesAuthorization = true } }

    /// The listing publishes `size` (any JSON number) as the size of `file`.
    public func publishSize(_ size: Any, for file: String) { lock.withLock { sizeOverrides[file] = size } }

    /// Range headers are ignored: every file is sent whole with 200.
    public func ignoreRange() { lock.withLock { ignoresRange = true } }

    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// A port on 127.0.0.1 where nothing listens (bound, then released).
    public static func closedPort() -> UInt16 {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    // MARK: - Serving

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.containsHeaderEnd {
            let count = recv(connection, &chunk, chunk.count, 0)
            if count <= 0 { return }
            buffer += chunk[0..<count]
            if buffer.count > 65536 { return }
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(path: String(requestLine[1]), headers: headers)
        lock.withLock { recorded.append(request) }
        respond(to: request, on: connection)
    }

    private func respond(to request: Request, on connection: Int32) {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        if parts.count >= 3, parts[0] == "api", parts[1] == "models" {
            if lock.withLock({ echoesAuthorization }) {
                let echo = "request refused: Authorization: \(request.header("Authorization") ?? "none")"
                let body = try! JSONSerialization.data(withJSONObject: ["error": echo])
                return send(connection, status: 400, headers: ["X-Error-Message": echo], body: body)
            }
            let model = parts.count >= 4 ? "\(parts[2])/\(parts[3])" : parts[2]
            guard let repository = lock.withLock({ repositories[model] }) else {
                return send(connection, status: 401, headers: ["X-Error-Code": "RepoNotFound"], body: Data(#"{"error":"Repository not found"}"#.utf8))
            }
            if parts.count == 4 { return send(connection, status: 200, body: Data("{}".utf8)) }
            guard parts.count == 6, parts[4] == "revision" else { return send(connection, status: 404, body: Data()) }
            guard parts[5] == "main" || parts[5] == repository.commit else {
                return send(connection, status: 404, headers: ["X-Error-Code": "RevisionNotFound"], body: Data(#"{"error":"Invalid rev id"}"#.utf8))
            }
            var siblings = repository.siblings
            let (wrong, hideSizes, sizes) = lock.withLock { (wrongDigests, hidesSizes, sizeOverrides) }
            for index in siblings.indices {
                if let name = siblings[index]["rfilename"] as? String, let size = sizes[name] { siblings[index]["size"] = size }
                if hideSizes {
                    siblings[index]["size"] = nil
                    if var lfs = siblings[index]["lfs"] as? [String: Any] {
                        lfs["size"] = nil
                        siblings[index]["lfs"] = lfs
                    }
                }
                if let name = siblings[index]["rfilename"] as? String, wrong.contains(name), var lfs = siblings[index]["lfs"] as? [String: Any] {
                    let digest = lfs["sha256"] as! String
                    lfs["sha256"] = String(digest.reversed())
                    siblings[index]["lfs"] = lfs
                }
            }
            let body = try! JSONSerialization.data(withJSONObject: ["id": model, "sha": repository.commit, "siblings": siblings])
            return send(connection, status: 200, headers: ["Content-Type": "application/json"], body: body)
        }
        if parts.count >= 5, parts[2] == "resolve" {
            let model = "\(parts[0])/\(parts[1])"
            let file = parts[4...].joined(separator: "/")
            let (repository, isMissing, cut, ignores, redirect) = lock.withLock { () -> (Repository?, Bool, Int?, Bool, URL?) in
                let cut = cuts[file]?.first
                if cut != nil { cuts[file]!.removeFirst() }
                return (repositories[model], missing.contains(file), cut, ignoresRange, redirectTarget)
            }
            if let redirect {
                return send(connection, status: 302, headers: ["Location": redirect.absoluteString + request.path], body: Data())
            }
            guard let repository, parts[3] == "main" || parts[3] == repository.commit else {
                return send(connection, status: 404, headers: ["X-Error-Code": "RevisionNotFound"], body: Data())
            }
            guard let data = repository.files[file], !isMissing else {
                return send(connection, status: 404, headers: ["X-Error-Code": "EntryNotFound"], body: Data(#"{"error":"Entry not found"}"#.utf8))
            }
            var start = 0
            if !ignores, let range = request.header("Range"), range.hasPrefix("bytes="), range.hasSuffix("-"),
               let first = Int(range.dropFirst(6).dropLast()) {
                guard first < data.count else {
                    return send(connection, status: 416, headers: ["Content-Range": "bytes */\(data.count)"], body: Data())
                }
                start = first
            }
            var headers = ["Content-Type": "application/octet-stream", "X-Repo-Commit": repository.commit]
            if start > 0 { headers["Content-Range"] = "bytes \(start)-\(data.count - 1)/\(data.count)" }
            return send(connection, status: start > 0 ? 206 : 200, headers: headers, body: data[start...], cutAfter: cut)
        }
        send(connection, status: 404, body: Data())
    }

    /// Writes a response with the body's full `Content-Length`, but only `cutAfter` bytes of it
    /// when given (then the caller closes the connection: a transfer broken mid-body).
    private func send(_ connection: Int32, status: Int, headers: [String: String] = [:], body: Data, cutAfter: Int? = nil) {
        var head = "HTTP/1.1 \(status) \(status < 300 ? "OK" : "Error")\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (key, value) in headers { head += "\(key): \(value)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes += cutAfter.map { Array(body.prefix($0)) } ?? Array(body)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
