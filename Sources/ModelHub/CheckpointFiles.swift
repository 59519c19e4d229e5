import Foundation

/// One file of a model revision as the hub's API lists it (`siblings` with `?blobs=true`).
public struct HubFile: Sendable, Equatable {
    /// Path inside the repository (`rfilename`).
    public let name: String
    /// Size in bytes (`size`, or `lfs.size`), when published.
    public let size: Int64?
    /// The sha256 of an LFS file's content (`lfs.sha256`), lowercase hex; nil for files kept in git.
    public let sha256: String?
    /// The git blob id (SHA-1 of `blob <size>\0` + content, `blobId`), lowercase hex: how a file
    /// kept in git (not LFS) is verified.
    public let blobId: String?

    /// The largest file size accepted from a listing (1 TiB): larger is a broken or hostile answer.
    public static let maximumSize: Int64 = 1 << 40

    public init(name: String, size: Int64?, sha256: String?, blobId: String? = nil) {
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.blobId = blobId
    }
}

/// A model revision: its resolved commit and files.
public struct HubRevision: Sendable {
    public let model: String
    /// The revision asked for (branch, tag or commit).
    public let revision: String
    /// The commit the revision resolves to (`sha`), used for every file so that all come from
    /// one commit even if the branch moves during the download.
    public let commit: String?
    public let files: [HubFile]

    /// Decodes the JSON of `GET /api/models/{id}/revision/{rev}?blobs=true`.
    static func decode(_ data: Data, model: String, revision: String, url: String) throws -> HubRevision {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelHubError.malformedResponse(url: url, reason: "not a JSON object")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw ModelHubError.malformedResponse(url: url, reason: "no 'siblings' list of files")
        }
        var files: [HubFile] = []
        for sibling in siblings {
            guard let name = sibling["rfilename"] as? String, !name.isEmpty else {
                throw ModelHubError.malformedResponse(url: url, reason: "a sibling without 'rfilename'")
            }
            let lfs = sibling["lfs"] as? [String: Any]
            let size = Self.integer(sibling["size"]) ?? Self.integer(lfs?["size"])
            var sha256 = (lfs?["sha256"] as? String)?.lowercased()
            if let digest = sha256, digest.count != 64 || !digest.allSatisfy(\.isHexDigit) {
                throw ModelHubError.malformedResponse(url: url, reason: "'\(name)': lfs.sha256 '\(digest)' is not 64 hexadecimal digits")
            }
            if sha256?.isEmpty == true { sha256 = nil }
            if let size, size < 0 {
                throw ModelHubError.malformedResponse(url: url, reason: "'\(name)': negative size \(size)")
            }
            for (key, value) in [("size", sibling["size"]), ("lfs.size", lfs?["size"])] {
                if let number = value as? NSNumber, !(number.doubleValue <= Double(HubFile.maximumSize)) || !(number.doubleValue >= 0) {
                    throw ModelHubError.malformedResponse(
                        url: url, reason: "'\(name)': \(key) \(number) is not a size between 0 and \(HubFile.maximumSize) bytes")
                }
            }
            var blobId = (sibling["blobId"] as? String)?.lowercased()
            if let id = blobId, id.count != 40 || !id.allSatisfy(\.isHexDigit) {
                throw ModelHubError.malformedResponse(url: url, reason: "'\(name)': blobId '\(id)' is not 40 hexadecimal digits")
            }
            if blobId?.isEmpty == true { blobId = nil }
            files.append(HubFile(name: name, size: size, sha256: sha256, blobId: blobId))
        }
        let commit = (object["sha"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return HubRevision(model: model, revision: revision, commit: commit, files: files)
    }

    private static func integer(_ value: Any?) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }
}

/// The two folder formats upadapter loads, and the files each needs.
public enum CheckpointFormat: String, Sendable, CaseIterable {
    /// transformers' `CLIPModel`: `config.json` + `model.safetensors`.
    case huggingFace = "huggingface"
    /// open_clip: `open_clip_config.json` + `open_clip_model.safetensors`.
    case openClip = "open_clip"

    /// Files without which the folder does not load.
    public var requiredFiles: [String] {
        switch self {
        case .huggingFace: ["config.json", "model.safetensors"]
        case .openClip: ["open_clip_config.json", "open_clip_model.safetensors"]
        }
    }

    /// Files taken when the revision has them: preprocessing and tokenizer.
    public var optionalFiles: [String] {
        let tokenizer = ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        switch self {
        case .huggingFace: return ["preprocessor_config.json"] + tokenizer
        case .openClip: return tokenizer
        }
    }

    /// The files of `revision` to fetch for a checkpoint: the format asked for, else the one
    /// present (Hugging Face first when a repository holds both, as laion's do: it is the
    /// format every version of upadapter loads). Small files come first, weights last.
    public static func select(from revision: HubRevision, format: CheckpointFormat?) throws -> (CheckpointFormat, [HubFile]) {
        let byName = Dictionary(revision.files.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let candidates = format.map { [$0] } ?? [.huggingFace, .openClip]
        guard let chosen = candidates.first(where: { $0.requiredFiles.allSatisfy { byName[$0] != nil } }) else {
            throw ModelHubError.notACheckpoint(model: revision.model, revision: revision.revision,
                                               reason: missingReason(byName: byName, format: format))
        }
        let names = chosen.optionalFiles.filter { byName[$0] != nil } + chosen.requiredFiles
        let files = names.compactMap { byName[$0] }.sorted { ($0.size ?? 0, $0.name) < ($1.size ?? 0, $1.name) }
        return (chosen, files)
    }

    /// Says what is missing, and how to convert PyTorch-only or sharded checkpoints.
    private static func missingReason(byName: [String: HubFile], format: CheckpointFormat?) -> String {
        let wanted = (format.map { [$0] } ?? [.huggingFace, .openClip])
            .map { $0.requiredFiles.joined(separator: " + ") }
            .joined(separator: ", or ")
        var reason = "it has no \(wanted) (\(byName.count) files listed)"
        if byName["model.safetensors.index.json"] != nil {
            reason += "; its weights are sharded (model.safetensors.index.json), which upadapter does not load: "
                + "merge them into one model.safetensors with transformers (CLIPModel.from_pretrained(d).save_pretrained(d, max_shard_size=\"100GB\"))"
        } else if let bin = ["open_clip_pytorch_model.bin", "pytorch_model.bin"].first(where: { byName[$0] != nil }) {
            reason += "; it holds PyTorch weights only (\(bin)): download them by hand and convert once to safetensors "
                + "(docs/configuration.md, \"Model folders\")"
        }
        return reason
    }
}
