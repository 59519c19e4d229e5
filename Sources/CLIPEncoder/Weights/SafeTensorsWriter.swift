import Foundation
import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes float tensors to a safetensors file, atomically: the bytes go to a temporary file in
/// the destination's folder, which is then renamed over the destination, so a reader never
/// sees a half-written file.
///
/// Tensors are stored in the given order, contiguously; the JSON header lists them in that
/// order and is padded with spaces to a multiple of 8 bytes, as the reference writer does.
public enum SafeTensorsWriter {
    /// Element type to store. Values are always handed over as `Float`.
    public enum StorageType: Sendable {
        /// IEEE float32, exact.
        case float32
        /// IEEE half, rounded to nearest even (values past ±65504 become ±infinity).
        case float16

        var dtype: SafeTensorsDType {
            switch self {
            case .float32: return .float32
            case .float16: return .float16
            }
        }
    }

    /// Writes `tensors` and `metadata` to `url`.
    /// - Parameters:
    ///   - tensors: name, shape and row-major values of each tensor; `values.count` must equal
    ///     the product of `shape`, and names must be unique and not `__metadata__`.
    ///   - metadata: strings stored under `__metadata__` (omitted when empty).
    ///   - storage: element type written for every tensor.
    ///   - url: destination file; its folder must exist.
    /// - Throws: `CLIPEncoderError.invalidTensorForWriting` for an inconsistent tensor,
    ///   `.fileAccessFailed` when writing or renaming fails.
    public static func write(
        _ tensors: [(name: String, shape: [Int], values: [Float])],
        metadata: [String: String] = [:],
        storage: StorageType = .float32,
        to url: URL
    ) throws {
        let path = url.path
        var seen = Set<String>()
        for tensor in tensors {
            func fail(_ reason: String) -> CLIPEncoderError {
                .invalidTensorForWriting(path: path, tensor: tensor.name, reason: reason)
            }
            guard !tensor.name.isEmpty, tensor.name != "__metadata__" else { throw fail("reserved or empty name") }
            guard seen.insert(tensor.name).inserted else { throw fail("name appears more than once") }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in \(tensor.shape)") }
            let count = tensor.shape.reduce(1, *)
            guard count == tensor.values.count else {
                throw fail("shape \(tensor.shape) needs \(count) values, got \(tensor.values.count)")
            }
        }

        let elementSize = storage.dtype.byteSize
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let members = metadata.keys.sorted().map { key in
                "\(jsonString(key)):\(jsonString(metadata[key] ?? ""))"
            }
            entries.append("\"__metadata__\":{\(members.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let end = offset + tensor.values.count * elementSize
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\(jsonString(tensor.name)):{\"dtype\":\"\(storage.dtype.rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for tensor in tensors {
            switch storage {
            case .float32:
                let words = tensor.values.map { $0.bitPattern.littleEndian }
                words.withUnsafeBytes { data.append(contentsOf: $0) }
            case .float16:
                let halves = tensor.values.map { HalfPrecision.halfBits(from: $0).littleEndian }
                halves.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        try writeAtomically(data, to: url)
    }

    /// Writes `data` to a temporary file beside `url`, then renames it to `url` (`AtomicFile`).
    /// - Throws: `CLIPEncoderError.fileAccessFailed` naming `url` and the step that failed.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        do throws(AtomicFileError) {
            try AtomicFile.write(data, to: url)
        } catch {
            switch error {
            case .writeFailed(_, let reason):
                throw CLIPEncoderError.fileAccessFailed(path: url.path, operation: "write", reason: reason)
            case .renameFailed(_, _, let reason):
                throw CLIPEncoderError.fileAccessFailed(path: url.path, operation: "rename", reason: reason)
            }
        }
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
