import Foundation

/// The one place where errors of Foundation (file access), `JSONDecoder` / `JSONEncoder` and
/// POSIX calls become a sentence naming the file or key and the cause, instead of a raw dump
/// such as `NSCocoaErrorDomain error 512` or `DecodingError.dataCorrupted(...)`.
///
/// The project's own errors (`CLIPEncoderError`, `ExperimentsError`, …) already read well and
/// pass through unchanged; the command-line tool sends every error that reaches it through
/// `describe`, and modules use it wherever they wrap a foreign error into their own.
public enum ReadableError {
    /// The cause of `error` without the file it names: for wrapping it into an error of the
    /// project that names the file itself.
    public static func reason(_ error: any Error) -> String {
        sentence(error, file: nil, includePath: false)
    }

    /// A one-sentence description of `error`, beginning with the file it concerns when known.
    /// - Parameter file: the file involved when the caller knows it and the error does not say.
    public static func describe(_ error: any Error, file: String? = nil) -> String {
        sentence(error, file: file, includePath: true)
    }

    private static func sentence(_ error: any Error, file: String?, includePath: Bool) -> String {
        let prefix = includePath ? file.map { "\($0): " } ?? "" : ""
        switch error {
        case let decoding as DecodingError:
            return prefix + describe(decoding)
        case let encoding as EncodingError:
            return prefix + describe(encoding)
        case let posix as POSIXError:
            return prefix + String(cString: strerror(posix.code.rawValue))
        default:
            break
        }
        let bridged = error as NSError
        if bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain {
            let path = (bridged.userInfo[NSFilePathErrorKey] as? String) ?? (bridged.userInfo[NSURLErrorKey] as? URL)?.path ?? file
            return (includePath ? path.map { "\($0): " } ?? "" : "") + cocoaReason(bridged, path: path)
        }
        return prefix + String(describing: error)
    }

    /// What a Cocoa or POSIX error code means, with the underlying POSIX cause when given.
    private static func cocoaReason(_ error: NSError, path: String?) -> String {
        if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
        var isFolder: ObjCBool = false
        if error.code == CocoaError.fileReadUnknown.rawValue, let path,
           FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            return "it is a folder, not a file"
        }
        var reason: String
        switch error.code {
        case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: reason = "no such file or folder"
        case CocoaError.fileReadNoPermission.rawValue, CocoaError.fileWriteNoPermission.rawValue: reason = "permission denied"
        case CocoaError.fileWriteOutOfSpace.rawValue: reason = "no space left on the device"
        case CocoaError.fileWriteVolumeReadOnly.rawValue: reason = "the file system is read-only"
        case CocoaError.fileWriteFileExists.rawValue: reason = "a file of that name already exists"
        case CocoaError.fileReadCorruptFile.rawValue: reason = "the file is not in the expected format"
        case CocoaError.fileReadInapplicableStringEncoding.rawValue: reason = "the file is not valid UTF-8 text"
        case CocoaError.fileReadTooLarge.rawValue: reason = "the file is too large to read"
        case CocoaError.fileReadUnknown.rawValue: reason = "the file could not be read"
        case CocoaError.fileWriteUnknown.rawValue: reason = "the file could not be written"
        case CocoaError.fileLocking.rawValue, CocoaError.fileReadUnknownStringEncoding.rawValue: reason = "the file could not be read"
        default: reason = "file operation failed (Cocoa error \(error.code))"
        }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason += " (\(String(cString: strerror(Int32(underlying.code)))))"
        }
        return reason
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            return "invalid JSON\(at(context.codingPath)): \(detail(context))"
        case .keyNotFound(let key, let context):
            return "required key '\(path(context.codingPath + [key]))' is missing"
        case .typeMismatch(let type, let context):
            return "key '\(path(context.codingPath))' must be \(typeName(type)): \(detail(context))"
        case .valueNotFound(let type, let context):
            return "key '\(path(context.codingPath))' is null, expected \(typeName(type))"
        @unknown default:
            return "invalid JSON: \(error)"
        }
    }

    private static func describe(_ error: EncodingError) -> String {
        switch error {
        case .invalidValue(let value, let context):
            let reason = (value as? Float).map { !$0.isFinite } ?? (value as? Double).map { !$0.isFinite } ?? false
                ? "JSON holds only finite numbers" : detail(context)
            return "cannot write the value \(value)\(at(context.codingPath)): \(reason)"
        @unknown default:
            return "cannot encode JSON: \(error)"
        }
    }

    private static func at(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "" : " at '\(path(codingPath))'"
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func detail(_ context: DecodingError.Context) -> String {
        var text = context.debugDescription
        if let underlying = context.underlyingError as NSError?, let message = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
            text += " (\(message))"
        }
        return text
    }

    private static func detail(_ context: EncodingError.Context) -> String {
        context.debugDescription
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        default: return "of type \(type)"
        }
    }
}
