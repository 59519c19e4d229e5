import Foundation

/// Where the hub is and how to talk to it: the endpoint, the access token, time-outs, retries.
public struct HubSettings: Sendable {
    /// The public Hugging Face hub.
    public static let publicEndpoint = URL(string: "https://huggingface.co")!

    /// `HF_ENDPOINT`, or the public hub.
    public var endpoint: URL
    /// `HF_TOKEN` (else the file `huggingface-cli login` writes); sent only as a Bearer header.
    public var token: String?
    /// Seconds without a byte before a request is abandoned.
    public var timeout: TimeInterval = 60
    /// Tries per file: a transfer that breaks off is resumed from its part file this many
    /// times in all before the command gives up (keeping the part file for a later run).
    public var attempts: Int = 4
    /// Seconds to wait before the first retry; doubled for each further one.
    public var retryDelay: TimeInterval = 1

    public init(endpoint: URL = HubSettings.publicEndpoint, token: String? = nil) {
        self.endpoint = endpoint
        self.token = token
    }

    /// The settings the environment asks for: `HF_ENDPOINT`, and `HF_TOKEN`, else the token
    /// file (`HF_TOKEN_PATH`, else `$HF_HOME/token`, else `~/.cache/huggingface/token`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubSettings {
        var settings = HubSettings()
        if let text = environment["HF_ENDPOINT"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            settings.endpoint = try endpoint(text, source: "HF_ENDPOINT")
        }
        if let token = environment["HF_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty {
            settings.token = token
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            let path = environment["HF_TOKEN_PATH"]
                ?? environment["HF_HOME"].map { "\($0)/token" }
                ?? "\(home)/.cache/huggingface/token"
            if let data = FileManager.default.contents(atPath: path) {
                let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !token.isEmpty { settings.token = token }
            }
        }
        return settings
    }

    /// Parses an endpoint URL (`http` or `https`, with a host), naming `source` on refusal.
    public static func endpoint(_ text: String, source: String) throws -> URL {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw ModelHubError.invalidSetting(name: source, value: text, reason: "is not an http(s) URL such as https://huggingface.co")
        }
        return url
    }
}
