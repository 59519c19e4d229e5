import Foundation

/// Reads typed values out of a JSON object of a configuration file, turning every problem into
/// `CLIPEncoderError.invalidConfiguration` naming the file and the dotted key.
struct CheckpointJSONReader {
    /// The file, for error messages.
    let path: String
    /// Prefix of the keys of this object, such as `vision_config.`; empty at the top level.
    let prefix: String
    /// The object's members.
    let members: [String: JSONValue]

    /// Parses `data` (the contents of `path`) as a JSON object.
    /// - Throws: `CLIPEncoderError.invalidConfiguration` for malformed JSON or a non-object.
    init(data: Data, path: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw CLIPEncoderError.invalidConfiguration(path: path, key: "(file)", reason: "not valid JSON")
        }
        guard let members = value.objectValue else {
            throw CLIPEncoderError.invalidConfiguration(path: path, key: "(file)", reason: "not a JSON object")
        }
        self.init(path: path, prefix: "", members: members)
    }

    init(path: String, prefix: String, members: [String: JSONValue]) {
        self.path = path
        self.prefix = prefix
        self.members = members
    }

    /// An error for `key` of this object.
    func failure(_ key: String, _ reason: String) -> CLIPEncoderError {
        .invalidConfiguration(path: path, key: prefix + key, reason: reason)
    }

    /// Whether `key` is present with a non-null value.
    func has(_ key: String) -> Bool {
        if let value = members[key], value != .null { return true }
        return false
    }

    /// The nested object under `key`, or nil when absent or null.
    func object(_ key: String) throws -> CheckpointJSONReader? {
        guard has(key), let value = members[key] else { return nil }
        guard let nested = value.objectValue else { throw failure(key, "expected a JSON object") }
        return CheckpointJSONReader(path: path, prefix: prefix + key + ".", members: nested)
    }

    /// The integer under `key`, or `defaultValue` when absent or null.
    func integer(_ key: String, default defaultValue: Int) throws -> Int {
        guard has(key), let value = members[key] else { return defaultValue }
        guard let integer = value.integerValue else { throw failure(key, "expected an integer") }
        return integer
    }

    /// The positive integer under `key`, or `defaultValue` when absent or null.
    func positiveInteger(_ key: String, default defaultValue: Int) throws -> Int {
        let value = try integer(key, default: defaultValue)
        guard value > 0 else { throw failure(key, "must be positive, got \(value)") }
        return value
    }

    /// The number under `key`, or `defaultValue` when absent or null.
    func double(_ key: String, default defaultValue: Double) throws -> Double {
        guard has(key), let value = members[key] else { return defaultValue }
        guard let number = value.doubleValue, number.isFinite else { throw failure(key, "expected a number") }
        return number
    }

    /// The string under `key`, or `defaultValue` when absent or null.
    func string(_ key: String, default defaultValue: String) throws -> String {
        guard has(key), let value = members[key] else { return defaultValue }
        guard let text = value.stringValue else { throw failure(key, "expected a string") }
        return text
    }

    /// A raw member, or nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        has(key) ? members[key] : nil
    }
}
