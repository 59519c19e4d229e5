import Foundation

/// A safetensors file, memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional
/// `"__metadata__"` object of strings), then the data section; offsets are relative to its
/// start and elements are little-endian.
///
/// Opening checks everything that can be checked without reading tensor data: the header
/// length lies inside the file, the JSON is a well-formed object, every dtype is known, every
/// byte size equals dtype size × product(shape), and every tensor's bytes lie inside the data
/// section without overlapping another tensor's.
public final class SafeTensorsFile: Sendable {
    /// Dtype, shape and byte range of one tensor.
    public struct TensorInfo: Sendable, Equatable {
        /// Element type.
        public let dtype: SafeTensorsDType
        /// Dimensions, outermost first; `[]` for a scalar.
        public let shape: [Int]
        /// Byte range inside the data section.
        public let dataOffsets: Range<Int>

        /// Number of elements, the product of `shape`.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The path the file was opened from.
    public let path: String
    /// Tensor names in ascending order of their data offsets.
    public let names: [String]
    /// The `__metadata__` strings; empty when the header has none.
    public let metadata: [String: String]

    private let tensors: [String: TensorInfo]
    private let file: MappedFile
    private let dataStart: Int

    /// Largest header accepted (the format's own limit), so a corrupt length cannot make the
    /// reader parse gigabytes of data as JSON.
    public static let maximumHeaderLength = 100_000_000

    /// Maps and validates the safetensors file at `url`.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` when the file cannot be mapped,
    ///   `.invalidSafeTensorsHeader` for a malformed header as a whole and
    ///   `.invalidTensorEntry` (naming the tensor) for a malformed entry.
    public init(url: URL) throws {
        let path = url.path
        let file = try MappedFile(path: path)
        guard file.count >= 8 else {
            throw CLIPEncoderError.invalidSafeTensorsHeader(
                path: path, reason: "file is \(file.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = file.withBytes(0..<8) { bytes in
            UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        }
        guard headerLength >= 2, headerLength <= UInt64(file.count - 8) else {
            throw CLIPEncoderError.invalidSafeTensorsHeader(
                path: path,
                reason: "header length \(headerLength) does not fit in the \(file.count - 8) bytes after it")
        }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw CLIPEncoderError.invalidSafeTensorsHeader(
                path: path, reason: "header length \(headerLength) exceeds \(Self.maximumHeaderLength) bytes")
        }
        let dataStart = 8 + Int(headerLength)
        let headerData = file.withBytes(8..<dataStart) { Data($0) }
        let header = try SafeTensorsHeader.parse(headerData, path: path, dataSize: file.count - dataStart)

        self.path = path
        self.file = file
        self.dataStart = dataStart
        self.tensors = header.tensors
        self.metadata = header.metadata
        self.names = header.tensors.sorted { left, right in
            (left.value.dataOffsets.lowerBound, left.key) < (right.value.dataOffsets.lowerBound, right.key)
        }.map(\.key)
    }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool {
        tensors[name] != nil
    }

    /// Dtype and shape of tensor `name`.
    /// - Throws: `CLIPEncoderError.tensorNotFound`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else {
            throw CLIPEncoderError.tensorNotFound(path: path, tensor: name)
        }
        return info
    }

    /// The elements of tensor `name` as `Float`, row-major (`info(name).count` of them),
    /// converting F16 and BF16 exactly.
    /// - Throws: `CLIPEncoderError.tensorNotFound`, or `.unsupportedDType` for any dtype other
    ///   than F32, F16 and BF16.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        guard info.dtype.isReadableAsFloat else {
            throw CLIPEncoderError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        let count = info.count
        let range = (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)
        return file.withBytes(range) { bytes in
            [Float](unsafeUninitializedCapacity: count) { output, initialized in
                switch info.dtype {
                case .float32:
                    #if _endian(little)
                    if count > 0, let source = bytes.baseAddress, let target = output.baseAddress {
                        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: 4 * count)
                    }
                    #else
                    for index in 0..<count {
                        let word = bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)
                        output[index] = Float(bitPattern: UInt32(littleEndian: word))
                    }
                    #endif
                case .float16:
                    for index in 0..<count {
                        let half = bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)
                        output[index] = HalfPrecision.float(fromHalfBits: UInt16(littleEndian: half))
                    }
                default:  // .bfloat16, the only other readable dtype
                    for index in 0..<count {
                        let half = bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)
                        output[index] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: half))
                    }
                }
                initialized = count
            }
        }
    }

    /// The raw little-endian bytes of tensor `name`, for dtypes that `floats` does not read.
    /// - Throws: `CLIPEncoderError.tensorNotFound`.
    public func bytes(_ name: String) throws -> [UInt8] {
        let info = try info(name)
        let range = (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)
        return file.withBytes(range) { [UInt8]($0) }
    }
}
