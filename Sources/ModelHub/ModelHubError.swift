import Foundation

/// Why a download from the model hub failed. Every description names the model, revision or
/// file concerned and says what to do; none contains the access token.
public enum ModelHubError: Error, CustomStringConvertible, Equatable {
    /// The endpoint could not be reached (no network, DNS failure, refused connection,
    /// time-out before any byte): `reason` is the transport's own words.
    case unreachable(endpoint: String, reason: String, manual: String)
    /// The hub has no such model, or it is private or gated and no token was accepted.
    case noSuchModel(model: String, endpoint: String, hasToken: Bool)
    /// The model exists but the revision (branch, tag or commit) does not.
    case noSuchRevision(model: String, revision: String)
    /// The revision exists but holds no such file.
    case noSuchFile(model: String, revision: String, file: String)
    /// The hub refused access (401/403) to an existing model: gated or private.
    case accessDenied(model: String, status: Int, hasToken: Bool)
    /// Any other HTTP status.
    case httpStatus(url: String, status: Int, message: String)
    /// The revision's file list is not a checkpoint this tool can load.
    case notACheckpoint(model: String, revision: String, reason: String)
    /// The hub's answer could not be understood.
    case malformedResponse(url: String, reason: String)
    /// A transfer broke off (and the retries, if any, too); the part file is kept.
    case interrupted(file: String, received: Int64, expected: Int64?, partPath: String, reason: String)
    /// The downloaded bytes do not have the published size or sha256; the part file was removed.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The size of a downloaded file differs from the published one; the part file was removed.
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// The destination could not be written.
    case destination(path: String, reason: String)
    /// A setting (`HF_ENDPOINT`, `--endpoint`, the model id) is not usable.
    case invalidSetting(name: String, value: String, reason: String)
    /// The server did not answer (or stopped sending) within the time-out.
    case timedOut(url: String, seconds: Double)

    /// The same error with `redact` applied to every text it carries (URLs, messages echoed by a
    /// server, paths): what is printed or written never holds the token or a URL's password.
    public func redacted(_ redact: (String) -> String) -> ModelHubError {
        switch self {
        case .unreachable(let endpoint, let reason, let manual):
            return .unreachable(endpoint: redact(endpoint), reason: redact(reason), manual: redact(manual))
        case .noSuchModel(let model, let endpoint, let hasToken):
            return .noSuchModel(model: redact(model), endpoint: redact(endpoint), hasToken: hasToken)
        case .noSuchRevision(let model, let revision):
            return .noSuchRevision(model: redact(model), revision: redact(revision))
        case .noSuchFile(let model, let revision, let file):
            return .noSuchFile(model: redact(model), revision: redact(revision), file: redact(file))
        case .accessDenied(let model, let status, let hasToken):
            return .accessDenied(model: redact(model), status: status, hasToken: hasToken)
        case .httpStatus(let url, let status, let message):
            return .httpStatus(url: redact(url), status: status, message: redact(message))
        case .notACheckpoint(let model, let revision, let reason):
            return .notACheckpoint(model: redact(model), revision: redact(revision), reason: redact(reason))
        case .malformedResponse(let url, let reason):
            return .malformedResponse(url: redact(url), reason: redact(reason))
        case .interrupted(let file, let received, let expected, let partPath, let reason):
            return .interrupted(file: redact(file), received: received, expected: expected, partPath: redact(partPath), reason: redact(reason))
        case .checksumMismatch(let file, let expected, let actual):
            return .checksumMismatch(file: redact(file), expected: redact(expected), actual: redact(actual))
        case .sizeMismatch(let file, let expected, let actual):
            return .sizeMismatch(file: redact(file), expected: expected, actual: actual)
        case .destination(let path, let reason):
            return .destination(path: redact(path), reason: redact(reason))
        case .invalidSetting(let name, let value, let reason):
            return .invalidSetting(name: redact(name), value: redact(value), reason: redact(reason))
        case .timedOut(let url, let seconds):
            return .timedOut(url: redact(url), seconds: seconds)
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason, let manual):
            return "cannot reach the model hub at \(endpoint): \(reason). No network here? \(manual)"
        case .noSuchModel(let model, let endpoint, let hasToken):
            let access = hasToken
                ? "(or it is private or gated and the token in HF_TOKEN has no access to it)"
                : "(or it is private or gated: set HF_TOKEN to an access token that may read it)"
            return "no such model '\(model)' on \(endpoint) \(access)"
        case .noSuchRevision(let model, let revision):
            return "no such revision '\(revision)' of model '\(model)' (a branch, tag or commit hash is expected)"
        case .noSuchFile(let model, let revision, let file):
            return "no such file '\(file)' in model '\(model)' at revision '\(revision)'"
        case .accessDenied(let model, let status, let hasToken):
            let advice = hasToken
                ? "the token in HF_TOKEN was refused for it; accept the model's conditions on its page, or use a token with access"
                : "it is gated or private: accept its conditions on its page and set HF_TOKEN to an access token"
            return "access to model '\(model)' denied (HTTP \(status)): \(advice)"
        case .httpStatus(let url, let status, let message):
            return "\(url): HTTP \(status)\(message.isEmpty ? "" : ": \(message)")"
        case .notACheckpoint(let model, let revision, let reason):
            return "model '\(model)' at revision '\(revision)' is not a checkpoint upadapter can load: \(reason)"
        case .malformedResponse(let url, let reason):
            return "\(url): unexpected answer from the hub: \(reason)"
        case .interrupted(let file, let received, let expected, let partPath, let reason):
            let total = expected.map { " of \($0)" } ?? ""
            return "download of '\(file)' interrupted after \(received)\(total) bytes (\(reason)); "
                + "the part received is kept in \(partPath): run the same command again to resume"
        case .checksumMismatch(let file, let expected, let actual):
            return "'\(file)': sha256 \(actual) differs from the published \(expected); the damaged download was removed, run the command again"
        case .sizeMismatch(let file, let expected, let actual):
            return "'\(file)': \(actual) bytes received, the hub publishes \(expected); the damaged download was removed, run the command again"
        case .destination(let path, let reason):
            return "\(path): \(reason)"
        case .invalidSetting(let name, let value, let reason):
            return "\(name): '\(value)' \(reason)"
        case .timedOut(let url, let seconds):
            return "\(url): timed out after \(seconds.formatted()) s without an answer from the server; try again later, "
                + "or raise the time-out if the connection is slow"
        }
    }
}
