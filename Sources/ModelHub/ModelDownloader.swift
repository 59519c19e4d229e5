import FileIntegrity
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads the files of a CLIP checkpoint from the Hugging Face hub (or a mirror with the
/// same URL layout) into a folder.
///
/// - `GET {endpoint}/api/models/{id}/revision/{rev}?blobs=true` lists the revision's files
///   with sizes and, for LFS files, their sha256; the commit it resolves to pins every file.
/// - `GET {endpoint}/{id}/resolve/{commit}/{file}` fetches each file into `{file}.part`,
///   continuing an existing part file with `Range: bytes=N-`; a transfer that breaks off is
///   resumed up to `settings.attempts` times in all.
/// - Each part file is checked against the published size and (LFS files) sha256, then
///   renamed onto its final name, atomically: a file under its final name is always whole.
///   A mismatch removes the part file.
public final class ModelDownloader: Sendable {
    public let settings: HubSettings
    private let transport: HubTransport
    private let log: @Sendable (String) -> Void
    private let interactive: Bool

    /// `log` receives every message and progress line (the command writes them to standard
    /// error); `interactive` redraws progress in place (a terminal).
    public init(settings: HubSettings, interactive: Bool = false, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.interactive = interactive
        transport = HubTransport(token: settings.token, timeout: settings.timeout)
        let token = settings.token
        // A last safeguard: no message may carry the token or a URL's password, whatever a server echoes.
        self.log = { text in log(ModelDownloader.redact(text, token: token)) }
    }

    /// Runs `body`, redacting (token, URL user info) every `ModelHubError` it throws.
    private func redactingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ModelHubError {
            let token = settings.token
            throw error.redacted { Self.redact($0, token: token) }
        }
    }

    /// What a finished download did.
    public struct Summary: Sendable {
        public let format: CheckpointFormat
        public let commit: String?
        public let folder: URL
        /// Files fetched in this run, and files already present and verified.
        public let downloaded: [String]
        public let alreadyPresent: [String]
        public let bytesReceived: Int64
    }

    /// Checks that `model` is a hub id (`name` or `owner/name`: letters, digits, `-`, `_`, `.`).
    public static func validate(model: String) throws {
        let parts = model.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard (1...2).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 96 && $0.allSatisfy(allowed.contains) && !$0.hasPrefix(".") && !$0.contains("..") })
        else {
            throw ModelHubError.invalidSetting(name: "model id", value: model,
                                               reason: "is not a hub id such as openai/clip-vit-base-patch32 (owner/name: letters, digits, '-', '_', '.')")
        }
    }

    /// Lists the files of `model` at `revision`.
    public func revision(model: String, revision: String) throws -> HubRevision {
        try redactingErrors { try listing(model: model, revision: revision) }
    }

    private func listing(model: String, revision: String) throws -> HubRevision {
        try Self.validate(model: model)
        let url = apiURL(model: model, revision: revision)
        let reply = try get(url, model: model, revision: revision)
        guard reply.status == 200 else {
            throw try apiError(reply, model: model, revision: revision, url: url)
        }
        return try HubRevision.decode(reply.body, model: model, revision: revision, url: url.absoluteString)
    }

    /// Downloads the checkpoint files of `model` at `revision` into `folder`.
    public func download(model: String, revision: String, format: CheckpointFormat? = nil, to folder: URL) throws -> Summary {
        try redactingErrors { try downloadFiles(model: model, revision: revision, format: format, to: folder) }
    }

    private func downloadFiles(model: String, revision: String, format: CheckpointFormat?, to folder: URL) throws -> Summary {
        let listing: HubRevision
        do {
            listing = try self.listing(model: model, revision: revision)
        } catch ModelHubError.unreachable(let endpoint, let reason, _) {
            throw ModelHubError.unreachable(endpoint: endpoint, reason: reason,
                                            manual: manualAlternative(model: model, revision: revision, folder: folder.path))
        }
        let (chosen, files) = try CheckpointFormat.select(from: listing, format: format)
        let commit = listing.commit ?? revision
        try prepare(folder)
        // One download into a folder at a time: a second process (another job of a cluster
        // array) waits, then finds the files in place and verified.
        let lock: FileLock
        do {
            lock = try FileLock(url: folder.appendingPathComponent(".download.lock")) { [log] in
                log("another process is downloading into \(folder.path); waiting for it\n")
            }
        } catch let failure as FileLock.Failure {
            throw ModelHubError.destination(path: failure.path, reason: "cannot \(failure.operation): \(failure.reason)")
        }
        defer { lock.release() }
        // Each size is at most `HubFile.maximumSize` (checked when the listing is read); the sum is checked too.
        var total: Int64 = 0
        for size in files.compactMap(\.size) {
            let (sum, overflow) = total.addingReportingOverflow(size)
            guard !overflow else {
                throw ModelHubError.malformedResponse(url: apiURL(model: model, revision: revision).absoluteString,
                                                      reason: "the files' sizes add up to more than \(Int64.max) bytes")
            }
            total = sum
        }
        log("\(model) at \(revision)\(listing.commit.map { " (commit \($0.prefix(12)))" } ?? ""): \(chosen.rawValue) checkpoint, "
            + "\(files.count) files, \(TransferProgress.bytes(total)) → \(folder.path)\n")
        var downloaded: [String] = [], present: [String] = []
        var received: Int64 = 0
        for file in files {
            let destination = folder.appendingPathComponent(file.name)
            if try isComplete(destination, as: file) {
                log("  \(file.name): already present, verified\n")
                present.append(file.name)
                continue
            }
            received += try fetch(file, model: model, revision: revision, commit: commit, to: destination)
            downloaded.append(file.name)
        }
        return Summary(format: chosen, commit: listing.commit, folder: folder, downloaded: downloaded,
                       alreadyPresent: present, bytesReceived: received)
    }

    /// The command a user without network access can run elsewhere, and the web page.
    public func manualAlternative(model: String, revision: String, folder: String) -> String {
        let page = settings.endpoint.appendingPathComponent(model).appendingPathComponent("tree").absoluteString + "/" + Self.encodeSegment(revision)
        return "Download the files by hand on a machine with network access — "
            + "`huggingface-cli download \(model) --revision \(revision) --local-dir \(folder)`, or from \(page) in a browser "
            + "(config.json, model.safetensors, preprocessor_config.json, vocab.json, merges.txt; "
            + "or open_clip_config.json, open_clip_model.safetensors) — then copy the folder here and pass it as model.path"
    }

    // MARK: - One file

    /// Fetches `file` into `destination` through its part file, retrying broken transfers;
    /// returns the bytes received.
    private func fetch(_ file: HubFile, model: String, revision: String, commit: String, to destination: URL) throws -> Int64 {
        let part = URL(fileURLWithPath: destination.path + ".part")
        let url = resolveURL(model: model, commit: commit, file: file.name)
        var receivedTotal: Int64 = 0
        var attempt = 0
        while true {
            attempt += 1
            var offset = Self.size(of: part) ?? 0
            if let size = file.size, offset > size {
                try? FileManager.default.removeItem(at: part)
                offset = 0
            }
            if let size = file.size, offset == size, size > 0 {
                break  // a complete part file from an earlier run: verify it below.
            }
            if offset > 0 {
                log("  \(file.name): resuming at \(TransferProgress.bytes(offset))\n")
            }
            let progress = TransferProgress(file: file.name, total: file.size, startBytes: offset, interactive: interactive, write: log)
            do {
                let outcome = try transport.download(url, into: part, from: offset, expectedSize: file.size) { bytes in
                    progress.update(bytes)
                }
                switch outcome {
                case .completed:
                    let now = Self.size(of: part) ?? 0
                    if offset > 0 && now < offset { offset = 0 }  // the server ignored the range.
                    receivedTotal += now - offset
                    progress.finish()
                case .failed(let reply):
                    if reply.status == 416 && offset > 0 && attempt < settings.attempts {
                        // The part file reaches past the file (its size was not published): start over.
                        try? FileManager.default.removeItem(at: part)
                        continue
                    }
                    if Self.isRetryable(reply.status) && attempt < settings.attempts {
                        log("  \(file.name): HTTP \(reply.status), retrying\n")
                        pause(attempt)
                        continue
                    }
                    throw resolveError(reply, model: model, revision: revision, file: file.name, url: url)
                }
                break
            } catch let failure as HubTransport.TransportFailure {
                let now = Self.size(of: part) ?? 0
                receivedTotal += max(now - offset, 0)
                if failure.timedOut && now == 0 && attempt >= settings.attempts {
                    throw ModelHubError.timedOut(url: url.absoluteString, seconds: settings.timeout)
                }
                if failure.unreachable && now == 0 {
                    throw ModelHubError.unreachable(endpoint: settings.endpoint.absoluteString, reason: failure.reason,
                                                    manual: manualAlternative(model: model, revision: revision, folder: destination.deletingLastPathComponent().path))
                }
                if attempt < settings.attempts {
                    log("\n  \(file.name): transfer broke off at \(TransferProgress.bytes(now)) (\(failure.reason)); resuming (try \(attempt + 1) of \(settings.attempts))\n")
                    pause(attempt)
                    continue
                }
                throw ModelHubError.interrupted(file: file.name, received: now, expected: file.size, partPath: part.path, reason: failure.reason)
            }
        }
        try verify(part, as: file)
        guard rename(part.path, destination.path) == 0 else {
            throw ModelHubError.destination(path: destination.path, reason: "cannot move the verified download into place: \(String(cString: strerror(errno)))")
        }
        return receivedTotal
    }

    /// Checks the part file's size and, for LFS files, its sha256; removes it on a mismatch.
    private func verify(_ part: URL, as file: HubFile) throws {
        let size = Self.size(of: part) ?? 0
        if let expected = file.size, size != expected {
            try? FileManager.default.removeItem(at: part)
            throw ModelHubError.sizeMismatch(file: file.name, expected: expected, actual: size)
        }
        guard let expected = file.sha256 else {
            guard let blobId = file.blobId else { return }
            let actual = try Self.gitBlobId(of: part)
            guard actual == blobId else {
                try? FileManager.default.removeItem(at: part)
                throw ModelHubError.checksumMismatch(file: file.name, expected: "git blob \(blobId)", actual: "git blob \(actual)")
            }
            return
        }
        let actual = try Self.sha256(of: part)
        guard actual == expected else {
            try? FileManager.default.removeItem(at: part)
            throw ModelHubError.checksumMismatch(file: file.name, expected: expected, actual: actual)
        }
    }

    /// True when `destination` already holds `file`: the published size and the content match,
    /// by sha256 for an LFS file, by git blob id for a file kept in git. A file the listing gives
    /// neither for is fetched again (such files are small: configurations, tokenizer files).
    private func isComplete(_ destination: URL, as file: HubFile) throws -> Bool {
        guard let size = Self.size(of: destination) else { return false }
        guard let expected = file.size, size == expected else { return false }
        if let digest = file.sha256 { return try Self.sha256(of: destination) == digest }
        if let blobId = file.blobId { return try Self.gitBlobId(of: destination) == blobId }
        return false
    }

    /// Creates `folder` (and its parents); refuses a path that is a file.
    private func prepare(_ folder: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ModelHubError.destination(path: folder.path, reason: "exists and is not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ModelHubError.destination(path: folder.path, reason: "cannot create the folder (\((error as NSError).localizedFailureReason ?? "check that its parent is a writable folder"))")
        }
    }

    // MARK: - HTTP

    private func get(_ url: URL, model: String, revision: String) throws -> HubTransport.Reply {
        do {
            return try transport.get(url)
        } catch let failure as HubTransport.TransportFailure {
            if failure.timedOut { throw ModelHubError.timedOut(url: url.absoluteString, seconds: settings.timeout) }
            if failure.unreachable {
                let folder = String(model.split(separator: "/").last ?? "")
                throw ModelHubError.unreachable(endpoint: settings.endpoint.absoluteString, reason: failure.reason,
                                                manual: manualAlternative(model: model, revision: revision, folder: folder))
            }
            throw ModelHubError.malformedResponse(url: url.absoluteString, reason: failure.reason)
        }
    }

    /// The error for a non-200 answer of the revision API.
    private func apiError(_ reply: HubTransport.Reply, model: String, revision: String, url: URL) throws -> ModelHubError {
        let code = reply.header("X-Error-Code")
        let hasToken = settings.token?.isEmpty == false
        switch (code, reply.status) {
        case ("RevisionNotFound", _):
            return .noSuchRevision(model: model, revision: revision)
        case ("RepoNotFound", _):
            return .noSuchModel(model: model, endpoint: settings.endpoint.absoluteString, hasToken: hasToken)
        case ("GatedRepo", _), (_, 403):
            return .accessDenied(model: model, status: reply.status, hasToken: hasToken)
        case (_, 401), (_, 404):
            // No error code (a mirror): the model's own page tells a missing model from a missing revision.
            let modelReply = try get(settings.endpoint.appendingPathComponent("api/models/\(model)"), model: model, revision: revision)
            return modelReply.status == 200
                ? .noSuchRevision(model: model, revision: revision)
                : .noSuchModel(model: model, endpoint: settings.endpoint.absoluteString, hasToken: hasToken)
        default:
            return .httpStatus(url: url.absoluteString, status: reply.status, message: Self.message(reply))
        }
    }

    /// The error for a non-200 answer of a file's `resolve` URL.
    private func resolveError(_ reply: HubTransport.Reply, model: String, revision: String, file: String, url: URL) -> ModelHubError {
        let hasToken = settings.token?.isEmpty == false
        switch (reply.header("X-Error-Code"), reply.status) {
        case ("RevisionNotFound", _): return .noSuchRevision(model: model, revision: revision)
        case ("RepoNotFound", _): return .noSuchModel(model: model, endpoint: settings.endpoint.absoluteString, hasToken: hasToken)
        case ("GatedRepo", _), (_, 401), (_, 403): return .accessDenied(model: model, status: reply.status, hasToken: hasToken)
        case (_, 404): return .noSuchFile(model: model, revision: revision, file: file)
        default: return .httpStatus(url: url.absoluteString, status: reply.status, message: Self.message(reply))
        }
    }

    /// `X-Error-Message`, else the JSON `error`, else a short text body.
    private static func message(_ reply: HubTransport.Reply) -> String {
        if let message = reply.header("X-Error-Message") { return message }
        if let object = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any], let error = object["error"] as? String {
            return error
        }
        let text = String(decoding: reply.body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.contains("<") ? "" : text
    }

    private static func isRetryable(_ status: Int) -> Bool {
        [408, 429, 500, 502, 503, 504].contains(status)
    }

    private func pause(_ attempt: Int) {
        let delay = settings.retryDelay * pow(2, Double(attempt - 1))
        if delay > 0 { Thread.sleep(forTimeInterval: min(delay, 30)) }
    }

    // MARK: - URLs

    private func apiURL(model: String, revision: String) -> URL {
        URL(string: settings.endpoint.absoluteString + "/api/models/\(model)/revision/\(Self.encodeSegment(revision))?blobs=true")!
    }

    private func resolveURL(model: String, commit: String, file: String) -> URL {
        let path = file.split(separator: "/").map { Self.encodeSegment(String($0)) }.joined(separator: "/")
        return URL(string: settings.endpoint.absoluteString + "/\(model)/resolve/\(Self.encodeSegment(commit))/\(path)")!
    }

    /// Percent-encodes one path segment (a revision such as `refs/pr/1` becomes `refs%2Fpr%2F1`).
    static func encodeSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    // MARK: - Files

    static func size(of url: URL) -> Int64? {
        var status = stat()
        guard stat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(status.st_size)
    }

    /// The sha256 of a file's content, read in 4 MiB blocks.
    public static func sha256(of url: URL) throws -> String {
        try RegularFile.require(url)
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw ModelHubError.destination(path: url.path, reason: "cannot read it back to verify it")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while true {
            let block: Data?
            do {
                block = try handle.read(upToCount: 4 << 20)
            } catch {
                throw ModelHubError.destination(path: url.path, reason: "cannot read it back to verify it")
            }
            guard let block, !block.isEmpty else { break }
            block.withUnsafeBytes { hash.update($0.bindMemory(to: UInt8.self)) }
        }
        return hash.finalizeHex()
    }

    /// The git blob id of a file's content: the SHA-1 of `blob <size>\0` and the content, as the
    /// hub's listing gives it (`blobId`) for files kept in git.
    /// Read in 4 MiB blocks.
    public static func gitBlobId(of url: URL) throws -> String {
        try RegularFile.require(url)
        let unreadable = ModelHubError.destination(path: url.path, reason: "cannot read it back to verify it")
        guard let size = size(of: url), let handle = try? FileHandle(forReadingFrom: url) else { throw unreadable }
        defer { try? handle.close() }
        var hash = SHA1()
        hash.update(Array("blob \(size)\0".utf8))
        var read: Int64 = 0
        while true {
            let block: Data?
            do {
                block = try handle.read(upToCount: 4 << 20)
            } catch {
                throw unreadable
            }
            guard let block, !block.isEmpty else { break }
            read += Int64(block.count)
            block.withUnsafeBytes { hash.update($0.bindMemory(to: UInt8.self)) }
        }
        guard read == size else { throw unreadable }  // the file changed while being read
        return hash.finalizeHex()
    }

    /// `text` with every occurrence of `token` replaced by `[HF_TOKEN]`, every `Bearer …`
    /// credential by `Bearer [redacted]`, and the user info of every URL (`user:password@`) by
    /// `[redacted]@`: applied to everything printed or thrown, since servers echo requests.
    public static func redact(_ text: String, token: String?) -> String {
        var result = text
        if let token, token.count >= 4 { result = result.replacingOccurrences(of: token, with: "[HF_TOKEN]") }
        result = result.replacingOccurrences(
            of: #"(?i)\bBearer\s+(?!\[HF_TOKEN\])[^\s"',;]+"#, with: "Bearer [redacted]", options: .regularExpression)
        result = result.replacingOccurrences(
            of: #"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@"#, with: "$1[redacted]@", options: .regularExpression)
        return result
    }
}
