import Foundation

/// A decoded JSON value that keeps integers, floating-point numbers and booleans apart, so that
/// header and configuration readers can say exactly which key holds the wrong kind of value.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Decodes `data` as one JSON value.
    /// - Throws: whatever `JSONDecoder` throws for malformed JSON.
    static func parse(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// The integer this value holds, accepting a float with an integral value (such as `224.0`).
    var integerValue: Int? {
        switch self {
        case .integer(let value): return value
        case .number(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The number this value holds, integer or not.
    var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// The string this value holds.
    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The array of integers this value holds.
    var integerArray: [Int]? {
        guard case .array(let elements) = self else { return nil }
        var result: [Int] = []
        for element in elements {
            guard let integer = element.integerValue else { return nil }
            result.append(integer)
        }
        return result
    }

    /// The array of numbers this value holds.
    var doubleArray: [Double]? {
        guard case .array(let elements) = self else { return nil }
        var result: [Double] = []
        for element in elements {
            guard let number = element.doubleValue else { return nil }
            result.append(number)
        }
        return result
    }

    /// The members of this object.
    var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
