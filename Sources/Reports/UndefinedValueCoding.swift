/// JSON coding of numbers that may be undefined: a NaN (such as the accuracy of a class without
/// test images) is written as `null` and read back as NaN, so `metrics.json` stays standard JSON
/// that any reader loads (numpy turns `null` into NaN with `dtype=float`).
extension KeyedEncodingContainer {
    mutating func encodeAllowingUndefined(_ values: [Double], forKey key: Key) throws {
        try encode(values.map { $0.isNaN ? nil : $0 }, forKey: key)
    }

    mutating func encodeAllowingUndefined(_ value: Double, forKey key: Key) throws {
        if value.isNaN { try encodeNil(forKey: key) } else { try encode(value, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    func decodeAllowingUndefined(_ type: [Double].Type, forKey key: Key) throws -> [Double] {
        try decode([Double?].self, forKey: key).map { $0 ?? .nan }
    }

    func decodeAllowingUndefined(_ type: Double.Type, forKey key: Key) throws -> Double {
        try decodeIfPresent(Double.self, forKey: key) ?? .nan
    }

    /// nil when `key` is absent (a field added after the file was written), NaN when it is `null`.
    func decodeIfPresentAllowingUndefined(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard contains(key) else { return nil }
        return try decodeIfPresent(Double.self, forKey: key) ?? .nan
    }
}
