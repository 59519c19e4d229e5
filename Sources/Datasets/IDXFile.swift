import CLIPEncoder
import FileIntegrity
import Foundation
import Support

/// One file of the IDX format used by MNIST and Fashion-MNIST, gzipped or not: a big-endian
/// magic number `0x0000 08 NN` (two zero bytes, type 0x08 = unsigned byte, NN dimensions),
/// NN big-endian 32-bit sizes, then the bytes in row-major order.
public struct IDXFile: Sendable, Equatable {
    /// The sizes, for example `[10000, 28, 28]` for images or `[10000]` for labels.
    public var dimensions: [Int]
    /// The values, `dimensions.reduce(1, *)` bytes.
    public var values: [UInt8]

    /// The magic number of an images file: unsigned bytes, 3 dimensions.
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// The magic number of a labels file: unsigned bytes, 1 dimension.
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// Reads an IDX file and checks its magic number and size.
    /// - Parameter expectedMagic: `imagesMagic` or `labelsMagic`.
    /// - Throws: `ExperimentsError.splitFileMissing` when absent, `malformedIDX` for a wrong magic
    ///   number or a size that does not match the header, `decompressionFailed` for bad gzip data.
    public init(contentsOf url: URL, expectedMagic: UInt32, dataset: String) throws {
        guard FileSystem.isFile(url) else { throw ExperimentsError.splitFileMissing(dataset: dataset, path: url.path) }
        try RegularFile.require(url)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ExperimentsError.unreadable(path: url.path, reason: ReadableError.reason(error))
        }
        let bytes: [UInt8]
        do {
            bytes = Gzip.isGzip(data)
                ? try Gzip.inflate(data, maximumBytes: 1 << 31, ceiling: { try Self.announcedSize(header: $0, file: url.path) })
                : [UInt8](data)
        } catch let error as GzipError {
            throw ExperimentsError.decompressionFailed(file: url.path, reason: error.reason)
        }
        try self.init(bytes: bytes, expectedMagic: expectedMagic, file: url.path)
    }

    /// The total size in bytes (header and values) that the start of an IDX file announces,
    /// `nil` while `header` is too short to tell: the ceiling of inflating a gzipped file.
    /// - Throws: `ExperimentsError.malformedIDX` when the sizes overflow.
    static func announcedSize(header bytes: [UInt8], file: String) throws -> Int? {
        guard bytes.count >= 4 else { return nil }
        let dimensionCount = Int(bytes[3])
        let headerSize = 4 + 4 * dimensionCount
        guard bytes.count >= headerSize else { return nil }
        var total = 1
        for index in 0..<dimensionCount {
            let offset = 4 + 4 * index
            let size = (Int(bytes[offset]) << 24) | (Int(bytes[offset + 1]) << 16) | (Int(bytes[offset + 2]) << 8) | Int(bytes[offset + 3])
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow else { throw ExperimentsError.malformedIDX(file: file, reason: "the sizes in the header overflow") }
            total = product
        }
        return total > Int.max - headerSize ? Int.max : headerSize + total
    }

    /// Parses IDX bytes (already inflated).
    init(bytes: [UInt8], expectedMagic: UInt32, file: String) throws {
        func word(at offset: Int) -> UInt32 {
            (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16) | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
        }
        guard bytes.count >= 4 else {
            throw ExperimentsError.malformedIDX(file: file, reason: "\(bytes.count) bytes, too short for a header")
        }
        let magic = word(at: 0)
        guard magic == expectedMagic else {
            throw ExperimentsError.malformedIDX(
                file: file, reason: "magic number 0x\(hex(magic)), expected 0x\(hex(expectedMagic))")
        }
        let dimensionCount = Int(magic & 0xff)
        let headerSize = 4 + 4 * dimensionCount
        guard bytes.count >= headerSize else {
            throw ExperimentsError.malformedIDX(file: file, reason: "\(bytes.count) bytes, header needs \(headerSize)")
        }
        let dimensions = (0..<dimensionCount).map { Int(word(at: 4 + 4 * $0)) }
        let (valueCount, overflow) = dimensions.reduce((1, false)) { partial, size in
            let (product, didOverflow) = partial.0.multipliedReportingOverflow(by: size)
            return (product, partial.1 || didOverflow)
        }
        guard !overflow, bytes.count - headerSize == valueCount else {
            throw ExperimentsError.malformedIDX(
                file: file,
                reason: "header says \(dimensions.map(String.init).joined(separator: "×")) = \(valueCount) values, file holds \(bytes.count - headerSize)")
        }
        self.dimensions = dimensions
        self.values = Array(bytes[headerSize...])
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
