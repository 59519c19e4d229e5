import Foundation

/// The parsed and validated JSON header of a safetensors file.
struct SafeTensorsHeader {
    /// Tensor entries by name.
    var tensors: [String: SafeTensorsFile.TensorInfo]
    /// The `__metadata__` strings.
    var metadata: [String: String]

    /// Parses `json` and checks each entry against a data section of `dataSize` bytes.
    /// - Throws: `CLIPEncoderError.invalidSafeTensorsHeader` or `.invalidTensorEntry`, naming `path`.
    static func parse(_ json: Data, path: String, dataSize: Int) throws -> SafeTensorsHeader {
        let object: JSONValue
        do {
            object = try JSONValue.parse(json)
        } catch {
            throw CLIPEncoderError.invalidSafeTensorsHeader(path: path, reason: "header is not valid JSON")
        }
        guard let entries = object.objectValue else {
            throw CLIPEncoderError.invalidSafeTensorsHeader(path: path, reason: "header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorsFile.TensorInfo] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            tensors[name] = try parseEntry(value, name: name, path: path, dataSize: dataSize)
        }
        try checkNoOverlap(tensors, path: path)
        return SafeTensorsHeader(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard let dictionary = value.objectValue else {
            throw CLIPEncoderError.invalidSafeTensorsHeader(
                path: path, reason: "__metadata__ is not a JSON object")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in dictionary {
            guard let text = entry.stringValue else {
                throw CLIPEncoderError.invalidSafeTensorsHeader(
                    path: path, reason: "__metadata__ value for '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(
        _ value: JSONValue, name: String, path: String, dataSize: Int
    ) throws -> SafeTensorsFile.TensorInfo {
        func fail(_ reason: String) -> CLIPEncoderError {
            .invalidTensorEntry(path: path, tensor: name, reason: reason)
        }
        guard let entry = value.objectValue else { throw fail("entry is not a JSON object") }
        guard let dtypeName = entry["dtype"]?.stringValue else { throw fail("missing or non-string dtype") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw fail("unknown dtype \(dtypeName)") }
        guard let shape = entry["shape"]?.integerArray, shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("shape is not an array of non-negative integers")
        }
        guard let offsets = entry["data_offsets"]?.integerArray, offsets.count == 2 else {
            throw fail("data_offsets is not an array of two integers")
        }
        let begin = offsets[0]
        let end = offsets[1]
        guard begin >= 0, begin <= end else {
            throw fail("data_offsets [\(begin), \(end)] are not an ordered pair of non-negative offsets")
        }
        guard end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] reach past the data section of \(dataSize) bytes")
        }
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw fail("shape \(shape) has too many elements") }
            elements = product
        }
        let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, expectedBytes == end - begin else {
            throw fail("holds \(end - begin) bytes, but \(dtypeName) × \(shape) needs \(elements) × "
                + "\(dtype.byteSize) bytes")
        }
        return SafeTensorsFile.TensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Checks that no two non-empty byte ranges overlap.
    private static func checkNoOverlap(
        _ tensors: [String: SafeTensorsFile.TensorInfo], path: String
    ) throws {
        let ordered = tensors.filter { !$0.value.dataOffsets.isEmpty }
            .sorted { ($0.value.dataOffsets.lowerBound, $0.key) < ($1.value.dataOffsets.lowerBound, $1.key) }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.value.dataOffsets.lowerBound < previous.value.dataOffsets.upperBound {
            let first = previous.value.dataOffsets
            let second = next.value.dataOffsets
            throw CLIPEncoderError.invalidTensorEntry(
                path: path, tensor: next.key,
                reason: "data_offsets [\(second.lowerBound), \(second.upperBound)] overlap those of '\(previous.key)' "
                    + "[\(first.lowerBound), \(first.upperBound)]")
        }
    }
}
