@testable import CLIPEncoder
import Foundation
import TestSupport
import Testing

// reference.safetensors and the corrupt files are written by scripts/make_image_fixtures.py
// with the Python `safetensors` package; expected.safetensors holds torch's float32 upcasts of
// the F16 / BF16 tensors and numpy's float16 rounding of chosen float32 values.

private let safetensorsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("safetensors")

private func safetensorsFile(_ name: String) -> URL {
    safetensorsFolder.appendingPathComponent(name)
}

/// Bitwise equality, so that NaN payloads and the sign of zero count.
private func sameBits(_ left: [Float], _ right: [Float]) -> Bool {
    left.count == right.count && zip(left, right).allSatisfy { $0.bitPattern == $1.bitPattern }
}

@Suite("safetensors")
struct SafeTensorsTests {
    @Test("A file written by the reference library reads back exactly (F32, F16, BF16, I64, metadata)")
    func readsReferenceFile() throws {
        let file = try SafeTensorsFile(url: safetensorsFile("reference.safetensors"))
        let expected = try SafeTensorsFile(url: safetensorsFile("expected.safetensors"))
        #expect(Set(file.names) == [
            "vision_model.embeddings.class_embedding", "text_projection.weight", "halves", "brain_floats",
            "text_model.embeddings.position_ids", "logit_scale", "empty",
        ])
        #expect(file.metadata == ["format": "pt", "note": "fixture \"quoted\" \\ text"])

        #expect(try file.info("text_projection.weight").dtype == .float32)
        #expect(try file.info("text_projection.weight").shape == [4, 5])
        #expect(try file.info("halves").dtype == .float16)
        #expect(try file.info("brain_floats").dtype == .bfloat16)
        #expect(try file.info("logit_scale").shape == [])
        #expect(try file.info("empty").shape == [0, 3])
        for name in ["vision_model.embeddings.class_embedding", "text_projection.weight", "halves", "brain_floats",
                     "logit_scale"] {
            let actual = try file.floats(name)
            let reference = try expected.floats(name)
            #expect(try file.info(name).shape == expected.info(name).shape)
            #expect(sameBits(actual, reference), "\(name): \(actual) vs \(reference)")
        }
        #expect(try file.floats("empty").isEmpty)
    }

    @Test("int64 tensors are recognised but not readable as float")
    func integerTensor() throws {
        let url = safetensorsFile("reference.safetensors")
        let file = try SafeTensorsFile(url: url)
        let info = try file.info("text_model.embeddings.position_ids")
        #expect(info.dtype == .int64)
        #expect(info.shape == [1, 77])
        #expect(throws: CLIPEncoderError.unsupportedDType(
            path: url.path, tensor: "text_model.embeddings.position_ids", dtype: "I64")) {
            try file.floats("text_model.embeddings.position_ids")
        }
        let bytes = try file.bytes("text_model.embeddings.position_ids")
        #expect(bytes.count == 77 * 8)
        #expect(bytes[8] == 1 && bytes[16] == 2)  // little-endian 0, 1, 2, ...
    }

    @Test("An unknown tensor name is an error naming file and tensor")
    func missingTensor() throws {
        let url = safetensorsFile("reference.safetensors")
        let file = try SafeTensorsFile(url: url)
        #expect(throws: CLIPEncoderError.tensorNotFound(path: url.path, tensor: "no.such.tensor")) {
            try file.info("no.such.tensor")
        }
    }

    @Test("Half and bfloat16 conversions handle subnormals, infinities and NaN")
    func halfConversions() throws {
        // Every one of the 65536 half patterns round-trips through Float.
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float(fromHalfBits: bits)
            let back = HalfPrecision.halfBits(from: value)
            if value.isNaN {
                #expect(back & 0x7C00 == 0x7C00 && back & 0x03FF != 0)
            } else {
                #expect(back == bits, "half 0x\(String(bits, radix: 16)) -> \(value) -> 0x\(String(back, radix: 16))")
            }
        }
        let expected = try SafeTensorsFile(url: safetensorsFile("expected.safetensors"))
        let originals = try expected.floats("rounding.float32")
        let halves = try expected.bytes("rounding.float16")
        for (index, value) in originals.enumerated() {
            let reference = UInt16(halves[2 * index]) | UInt16(halves[2 * index + 1]) << 8
            #expect(HalfPrecision.halfBits(from: value) == reference, "float16(\(value))")
        }
    }

    @Test("The writer round-trips float32 exactly and float16 as numpy rounds", arguments: [false, true])
    func writerRoundTrip(half: Bool) throws {
        let folder = try TemporaryFolder.create("safetensors-tests")
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try SafeTensorsFile(url: safetensorsFile("expected.safetensors"))
        let values = try expected.floats("rounding.float32")
        let matrix = try expected.floats("text_projection.weight")
        let url = folder.appendingPathComponent("features.safetensors")
        try SafeTensorsWriter.write(
            [(name: "rounding", shape: [values.count], values: values),
             (name: "matrix \"odd\" name", shape: [4, 5], values: matrix),
             (name: "scalar", shape: [], values: [2.5]),
             (name: "nothing", shape: [0, 7], values: [])],
            metadata: ["model": "ViT-B/32", "split": "train\n"],
            storage: half ? .float16 : .float32, to: url)

        let file = try SafeTensorsFile(url: url)
        #expect(file.names == ["rounding", "matrix \"odd\" name", "scalar", "nothing"])
        #expect(file.metadata == ["model": "ViT-B/32", "split": "train\n"])
        #expect(try file.info("matrix \"odd\" name").shape == [4, 5])
        #expect(try file.info("scalar").shape == [])
        #expect(try file.info("nothing").shape == [0, 7])
        if half {
            #expect(try file.info("rounding").dtype == .float16)
            #expect(try file.bytes("rounding") == expected.bytes("rounding.float16"))
        } else {
            #expect(sameBits(try file.floats("rounding"), values))
            #expect(sameBits(try file.floats("matrix \"odd\" name"), matrix))
        }
        #expect(try file.floats("scalar") == [2.5])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(leftovers == ["features.safetensors"], "no temporary file is left behind")
    }

    @Test("The writer replaces an existing file and refuses inconsistent tensors")
    func writerChecks() throws {
        let folder = try TemporaryFolder.create("safetensors-tests")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cache.safetensors")
        try SafeTensorsWriter.write([(name: "a", shape: [2], values: [1, 2])], to: url)
        try SafeTensorsWriter.write([(name: "b", shape: [1], values: [3])], to: url)
        #expect(try SafeTensorsFile(url: url).names == ["b"])

        #expect(throws: CLIPEncoderError.invalidTensorForWriting(
            path: url.path, tensor: "a", reason: "shape [2, 2] needs 4 values, got 3")) {
            try SafeTensorsWriter.write([(name: "a", shape: [2, 2], values: [1, 2, 3])], to: url)
        }
        #expect(throws: CLIPEncoderError.invalidTensorForWriting(
            path: url.path, tensor: "a", reason: "name appears more than once")) {
            try SafeTensorsWriter.write([(name: "a", shape: [1], values: [1]), (name: "a", shape: [1], values: [1])], to: url)
        }
        let missingFolder = folder.appendingPathComponent("missing").appendingPathComponent("x.safetensors")
        do {
            try SafeTensorsWriter.write([(name: "a", shape: [1], values: [1])], to: missingFolder)
            Issue.record("wrote into a missing folder")
        } catch let error as CLIPEncoderError {
            guard case .fileAccessFailed(let path, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == missingFolder.path)
        }
    }

    @Test(
        "Corrupt files are refused with an error naming the file and tensor",
        arguments: [
            "bad_overlap.safetensors", "bad_out_of_range.safetensors", "bad_byte_size.safetensors",
            "bad_dtype.safetensors", "bad_json.safetensors", "bad_truncated.safetensors",
            "bad_header_length.safetensors", "bad_short.safetensors",
        ])
    func corruptFiles(name: String) throws {
        let listing = try Data(contentsOf: safetensorsFile("bad_files.json"))
        let tensors = try JSONDecoder().decode([String: String?].self, from: listing)
        let expectedTensor = try #require(tensors[name])
        let url = safetensorsFile(name)
        do {
            _ = try SafeTensorsFile(url: url)
            Issue.record("opened corrupt file \(name)")
        } catch let error as CLIPEncoderError {
            #expect(error.description.contains(url.path))
            switch error {
            case .invalidTensorEntry(let path, let tensor, _):
                #expect(path == url.path)
                #expect(tensor == expectedTensor)
            case .invalidSafeTensorsHeader(let path, _):
                #expect(path == url.path)
                #expect(expectedTensor == nil, "expected an error naming tensor \(expectedTensor ?? "")")
            default:
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test("An empty file is refused")
    func emptyFile() throws {
        let folder = try TemporaryFolder.create("safetensors-tests")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("empty.safetensors")
        try Data().write(to: url)
        #expect(throws: CLIPEncoderError.invalidSafeTensorsHeader(
            path: url.path, reason: "file is 0 bytes, shorter than the 8-byte header length")) {
            try SafeTensorsFile(url: url)
        }
    }
}
