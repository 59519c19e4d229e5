import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP(S) GET requests to the hub, one `URLSession` per request, waited for synchronously.
///
/// On Linux this is FoundationNetworking's `URLSession`, which drives libcurl (`libcurl.so.4`
/// at run time; a `--static-swift-stdlib` build links it and needs libcurl's development
/// files, e.g. Debian's `libcurl4-openssl-dev`). The access token travels only in an
/// `Authorization: Bearer` header, which is dropped when a redirect leaves the endpoint's
/// scheme, host and port (the hub redirects large files to a CDN with signed URLs).
final class HubTransport: Sendable {
    /// A reply read into memory (API answers and error bodies).
    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: Data

        /// A header's value, case-insensitively.
        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    /// How a streamed transfer ended.
    enum TransferOutcome: Sendable {
        /// The whole body was received into the part file (`resumed`: appended after a 206).
        case completed(resumed: Bool)
        /// The server answered with an error status; nothing was written.
        case failed(Reply)
    }

    /// Why a request failed before a reply, or a body broke off.
    struct TransportFailure: Error, Sendable {
        let reason: String
        /// True when no connection was made at all (no network, DNS, refused).
        let unreachable: Bool
        /// True when the time-out passed without an answer (or without the next bytes).
        var timedOut = false
    }

    private let token: String?
    private let timeout: TimeInterval
    /// Largest body read into memory.
    static let memoryLimit = 32 << 20

    init(token: String?, timeout: TimeInterval) {
        self.token = token
        self.timeout = timeout
    }

    /// GETs `url` into memory.
    func get(_ url: URL) throws -> Reply {
        let state = RequestState(origin: url, part: nil, offset: 0, expectedSize: nil, onBytes: nil)
        try perform(request(url, range: nil), state: state)
        guard let reply = state.reply else { throw TransportFailure(reason: "no reply", unreachable: false) }
        return reply
    }

    /// GETs `url` and appends its body to `part`, asking for the bytes from `offset` on with a
    /// `Range` header when `offset > 0`. A server that ignores the range (200) makes the part
    /// file start over. `onBytes` receives the part file's size as it grows.
    func download(_ url: URL, into part: URL, from offset: Int64, expectedSize: Int64?,
                  onBytes: @escaping @Sendable (Int64) -> Void) throws -> TransferOutcome {
        let state = RequestState(origin: url, part: part, offset: offset, expectedSize: expectedSize, onBytes: onBytes)
        try perform(request(url, range: offset > 0 ? offset : nil), state: state)
        if let reply = state.reply { return .failed(reply) }
        return .completed(resumed: state.resumed)
    }

    private func request(_ url: URL, range: Int64?) -> URLRequest {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.setValue("upadapter", forHTTPHeaderField: "User-Agent")
        if let token, !token.isEmpty {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if let range {
            request.setValue("bytes=\(range)-", forHTTPHeaderField: "Range")
        }
        return request
    }

    private func perform(_ request: URLRequest, state: RequestState) throws {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let session = URLSession(configuration: configuration, delegate: state, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        state.finished.wait()
        if let failure = state.failure { throw failure }
    }
}

/// The delegate of one request: streams a 200/206 body into the part file, keeps any other
/// reply in memory, and records how the request ended.
private final class RequestState: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private let origin: URL
    private let part: URL?
    private let offset: Int64
    private let expectedSize: Int64?
    private let onBytes: (@Sendable (Int64) -> Void)?

    private var sink: FileHandle?
    private var written: Int64 = 0
    private var response: HTTPURLResponse?
    private var body = Data()
    private var localFailure: HubTransport.TransportFailure?
    private var completedFailure: HubTransport.TransportFailure?
    private var isResumed = false

    init(origin: URL, part: URL?, offset: Int64, expectedSize: Int64?, onBytes: (@Sendable (Int64) -> Void)?) {
        self.origin = origin
        self.part = part
        self.offset = offset
        self.expectedSize = expectedSize
        self.onBytes = onBytes
    }

    var failure: HubTransport.TransportFailure? { lock.withLock { localFailure ?? completedFailure } }
    var resumed: Bool { lock.withLock { isResumed } }

    /// The reply kept in memory: every reply of `get`, and error statuses of `download`.
    var reply: HubTransport.Reply? {
        lock.withLock {
            guard let response, sink == nil, localFailure == nil else { return nil }
            if part != nil && (response.statusCode == 200 || response.statusCode == 206) { return nil }
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key] = value }
            }
            return HubTransport.Reply(status: response.statusCode, headers: headers, body: body)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            fail("not an HTTP response")
            completionHandler(.cancel)
            return
        }
        lock.withLock { self.response = http }
        guard let part, http.statusCode == 200 || http.statusCode == 206 else {
            completionHandler(.allow)
            return
        }
        do {
            var start: Int64 = 0
            if http.statusCode == 206 {
                // "Content-Range: bytes START-END/TOTAL" must start where the part file ends.
                let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
                let first = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
                guard first == offset else {
                    fail("the server answered the range request from byte \(offset) with 'Content-Range: \(range)'")
                    completionHandler(.cancel)
                    return
                }
                start = offset
            }
            if !FileManager.default.fileExists(atPath: part.path) {
                guard FileManager.default.createFile(atPath: part.path, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission)
                }
            }
            let handle = try FileHandle(forWritingTo: part)
            try handle.truncate(atOffset: UInt64(start))
            try handle.seek(toOffset: UInt64(start))
            lock.withLock {
                sink = handle
                written = start
                isResumed = start > 0
            }
            completionHandler(.allow)
        } catch {
            fail("cannot write \(part.path): \(error.localizedDescription)")
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (handle, total): (FileHandle?, Int64) = lock.withLock {
            if sink == nil {
                if body.count + data.count <= HubTransport.memoryLimit { body.append(data) }
                return (nil, 0)
            }
            written += Int64(data.count)
            return (sink, written)
        }
        guard let handle else { return }
        if let expectedSize, total > expectedSize {
            fail("the server sent more than the \(expectedSize) bytes the hub publishes")
            dataTask.cancel()
            return
        }
        do {
            try handle.write(contentsOf: data)
        } catch {
            fail("cannot write \(part?.path ?? "the part file"): \(error.localizedDescription)")
            dataTask.cancel()
            return
        }
        onBytes?(total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        var next = request
        if let target = request.url, !Self.sameOrigin(target, origin) {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            if let handle = sink {
                try? handle.synchronize()
                try? handle.close()
            }
            if let error, localFailure == nil {
                let code = (error as NSError).code
                let unreachable = response == nil && [
                    NSURLErrorCannotFindHost, NSURLErrorCannotConnectToHost, NSURLErrorNotConnectedToInternet,
                    NSURLErrorDNSLookupFailed, NSURLErrorTimedOut, NSURLErrorSecureConnectionFailed,
                    NSURLErrorServerCertificateUntrusted, NSURLErrorCannotLoadFromNetwork,
                ].contains(code)
                completedFailure = HubTransport.TransportFailure(
                    reason: Self.reason(of: error), unreachable: unreachable && code != NSURLErrorTimedOut, timedOut: code == NSURLErrorTimedOut)
            }
        }
        finished.signal()
    }

    private func fail(_ reason: String) {
        lock.withLock {
            if localFailure == nil { localFailure = HubTransport.TransportFailure(reason: reason, unreachable: false) }
        }
    }

    /// The transport's message without Foundation's error-domain dump.
    private static func reason(of error: any Error) -> String {
        let nsError = error as NSError
        if let message = nsError.userInfo[NSLocalizedDescriptionKey] as? String, !message.isEmpty {
            return message
        }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           let message = underlying.userInfo[NSLocalizedDescriptionKey] as? String, !message.isEmpty {
            return message
        }
        return "network error \(nsError.code)"
    }

    private static func sameOrigin(_ first: URL, _ second: URL) -> Bool {
        first.scheme?.lowercased() == second.scheme?.lowercased()
            && first.host?.lowercased() == second.host?.lowercased()
            && first.port == second.port
    }
}
