// =================================================================================================
// Convolution.swift: one place for the operation family of Kernels/convolution.cl
//
// 2-D convolution of channels-last images as a patch matrix (im2col, `Kernels/convolution.cl`)
// followed by the `matmul` of MatrixProduct.swift, whose epilogue adds the bias (folded batch
// norm), an optional residual (β = 1) and ReLU. Here, in this order: shape validation, the
// plain-loop twin (`ReferenceOps`, run by `ReferenceBackend`), the CPU fast path, the OpenCL
// launch, the composed `convolution` every backend shares, its `kernels bench` figures, and the
// `kernels check` cases. Adding an operation to the family means editing this file, its kernel
// and the `Backend` protocol.
// =================================================================================================

import Foundation

// MARK: Validation

/// The sizes of a convolution over channels-last images `[batch, height, width, channels]`.
public struct ConvolutionGeometry: Equatable, Sendable {
    public var batch: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kernelSize: Int, stride: Int, padding: Int) {
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    /// `(height + 2 · padding − kernelSize) / stride + 1`, PyTorch's output height.
    public var outHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    /// `(width + 2 · padding − kernelSize) / stride + 1`.
    public var outWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    /// Output pixels over the batch: the rows of the patch matrix.
    public var rows: Int { batch * outHeight * outWidth }
    /// `kernelSize² · channels`: the columns of the patch matrix.
    public var patchLength: Int { kernelSize * kernelSize * channels }
    /// A 1×1 convolution with stride 1 reads its input as the patch matrix: no copy needed.
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }
}

func convolutionGeometry(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, operation: String) throws -> ConvolutionGeometry {
    guard x.rank == 4, kernelSize > 0, stride > 0, padding >= 0, padding < kernelSize else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "x",
                                         expected: "[batch, height, width, channels] with kernel \(kernelSize) > 0, stride \(stride) > 0, 0 ≤ padding \(padding) < kernel",
                                         actual: x.shape)
    }
    let g = ConvolutionGeometry(batch: x.shape[0], height: x.shape[1], width: x.shape[2], channels: x.shape[3],
                                kernelSize: kernelSize, stride: stride, padding: padding)
    guard g.height + 2 * padding >= kernelSize, g.width + 2 * padding >= kernelSize else {
        throw ComputeError.shapeMismatch(operation: operation, tensor: "x",
                                         expected: "an image of at least \(kernelSize - 2 * padding) pixels per side", actual: x.shape)
    }
    return g
}

func validateConvolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, _ y: Tensor) throws -> ConvolutionGeometry {
    let g = try convolutionGeometry(x, kernelSize: kernelSize, stride: stride, padding: padding, operation: "convolutionPatches")
    guard y.count == g.rows * g.patchLength else {
        throw ComputeError.shapeMismatch(operation: "convolutionPatches", tensor: "output",
                                         expected: "[\(g.batch), \(g.outHeight), \(g.outWidth), \(g.patchLength)]", actual: y.shape)
    }
    return g
}

// MARK: Plain-loop twin

extension ReferenceOps {
    static func convolutionPatches(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry) {
        for b in 0..<g.batch {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    for ky in 0..<g.kernelSize {
                        for kx in 0..<g.kernelSize {
                            for c in 0..<g.channels {
                                let row = (b * g.outHeight + oy) * g.outWidth + ox
                                let target = row * g.patchLength + (ky * g.kernelSize + kx) * g.channels + c
                                let sy = oy * g.stride + ky - g.padding, sx = ox * g.stride + kx - g.padding
                                let inside = sy >= 0 && sy < g.height && sx >= 0 && sx < g.width
                                y[target] = inside ? x[((b * g.height + sy) * g.width + sx) * g.channels + c] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}

extension ReferenceBackend {
    public func convolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, into y: Tensor) throws {
        try measured("convolutionPatches") {
            let g = try validateConvolutionPatches(x, kernelSize: kernelSize, stride: stride, padding: padding, y)
            ReferenceOps.convolutionPatches(try storage(x, "convolutionPatches", "x"), try storage(y, "convolutionPatches", "output"), geometry: g)
        }
    }
}

// MARK: CPU fast path

extension CPUBackend {
    public func convolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, into y: Tensor) throws {
        try measured("convolutionPatches") {
            let g = try validateConvolutionPatches(x, kernelSize: kernelSize, stride: stride, padding: padding, y)
            let source = try storage(x, "convolutionPatches", "x"), target = try storage(y, "convolutionPatches", "output")
            // One output pixel per task: each kernel tap copies one pixel's run of channels.
            parallelRows(g.rows, width: g.patchLength) { row in
                let ox = row % g.outWidth, oy = (row / g.outWidth) % g.outHeight, b = row / (g.outWidth * g.outHeight)
                let output = target + row * g.patchLength
                for ky in 0..<g.kernelSize {
                    let sy = oy * g.stride + ky - g.padding
                    for kx in 0..<g.kernelSize {
                        let sx = ox * g.stride + kx - g.padding
                        let tap = output + (ky * g.kernelSize + kx) * g.channels
                        if sy >= 0, sy < g.height, sx >= 0, sx < g.width {
                            tap.update(from: source + ((b * g.height + sy) * g.width + sx) * g.channels, count: g.channels)
                        } else {
                            tap.update(repeating: 0, count: g.channels)
                        }
                    }
                }
            }
        }
    }
}

// MARK: OpenCL

extension OpenCLBackend {
    public func convolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, into y: Tensor) throws {
        let g = try validateConvolutionPatches(x, kernelSize: kernelSize, stride: stride, padding: padding, y)
        guard g.rows * g.patchLength > 0 else { return }
        // One dimension over the output's elements: GPU grids cap dimensions 1 and 2 at 65 535
        // groups, fewer than a batch's output pixels.
        try launch(.convolutionPatches, global: [roundUp(g.rows * g.patchLength, 64)], arguments: [
            .int(Int32(g.rows)), .int(Int32(g.height)), .int(Int32(g.width)), .int(Int32(g.channels)),
            .int(Int32(g.kernelSize)), .int(Int32(g.stride)), .int(Int32(g.padding)),
            .int(Int32(g.outHeight)), .int(Int32(g.outWidth)),
            .buffer(try memory(x, "convolutionPatches", "x")), .buffer(try memory(y, "convolutionPatches", "output")),
        ])
    }
}

// MARK: The composed convolution

extension Backend {
    /// 2-D convolution of channels-last images, `y = act(conv(x) + bias (+ y))`: the patch matrix
    /// (skipped for a 1×1 convolution with stride 1, whose input already is one) then one matrix
    /// product whose epilogue adds the bias, the residual and the activation.
    ///
    /// - Parameters:
    ///   - x: `[batch, height, width, inChannels]`.
    ///   - weight: `[outChannels, kernelSize · kernelSize · inChannels]`, the PyTorch weight
    ///     `[out, in, ky, kx]` reordered to `[out, ky, kx, in]`.
    ///   - bias: `[outChannels]` or `nil`.
    ///   - scratch: room for the patch matrix, `batch · outHeight · outWidth · kernelSize² · inChannels`
    ///     elements (any shape); unused by a pointwise convolution.
    ///   - y: `[batch, outHeight, outWidth, outChannels]`; must not alias `x`.
    ///   - accumulate: add the convolution to what `y` holds (a residual connection).
    /// - Throws: `ComputeError.shapeMismatch` naming the tensor whose shape does not fit.
    public func convolution(
        _ x: Tensor, weight: Tensor, bias: Tensor?, kernelSize: Int, stride: Int, padding: Int,
        scratch: Tensor?, into y: Tensor, activation: Activation? = nil, accumulate: Bool = false
    ) throws {
        let g = try convolutionGeometry(x, kernelSize: kernelSize, stride: stride, padding: padding, operation: "convolution")
        guard weight.rank == 2, weight.shape[1] == g.patchLength else {
            throw ComputeError.shapeMismatch(operation: "convolution", tensor: "weight",
                                             expected: "[outChannels, \(g.patchLength)]", actual: weight.shape)
        }
        let outChannels = weight.shape[0]
        guard y.count == g.rows * outChannels else {
            throw ComputeError.shapeMismatch(operation: "convolution", tensor: "output",
                                             expected: "[\(g.batch), \(g.outHeight), \(g.outWidth), \(outChannels)]", actual: y.shape)
        }
        let patches: Tensor
        if g.isPointwise {
            patches = try x.reshaped([g.rows, g.patchLength])
        } else {
            guard let scratch, scratch.storage.capacity >= g.rows * g.patchLength else {
                throw ComputeError.shapeMismatch(operation: "convolution", tensor: "scratch",
                                                 expected: "room for \(g.rows * g.patchLength) elements", actual: scratch?.shape ?? [])
            }
            patches = try scratch.prefix(shape: [g.rows, g.patchLength])
            try convolutionPatches(x, kernelSize: kernelSize, stride: stride, padding: padding,
                                   into: try patches.reshaped([g.batch, g.outHeight, g.outWidth, g.patchLength]))
        }
        try matmul(patches, weight, bias: bias, into: try y.reshaped([g.rows, outChannels]),
                   options: MatmulOptions(transposeB: true, beta: accumulate ? 1 : 0, activation: activation))
    }
}

// MARK: Bench cases

extension KernelCheck {
    /// GB/s of the patch matrix and GFLOP/s of the whole convolution at RN50's 3×3 shapes, batch
    /// 8: layer1's (56², 64 channels) and layer4's (7², 512 channels).
    static let convolutionBenchCases: [Case] = [(56, 64), (7, 512)].flatMap { size, channels in
        let g = ConvolutionGeometry(batch: 8, height: size, width: size, channels: channels, kernelSize: 3, stride: 1, padding: 1)
        let label = "[8, \(size), \(size), \(channels)] 3x3"
        let patchShape = [g.batch, g.outHeight, g.outWidth, g.patchLength]
        return [
            timed("convolutionPatches", label, .bytes(Double(g.batch * size * size * channels + patchShape.elementCount) * 4)) { context in
                let x = try context.random([g.batch, size, size, channels]), patches = try context.backend.makeTensor(shape: patchShape)
                return { try context.backend.convolutionPatches(x, kernelSize: 3, stride: 1, padding: 1, into: patches) }
            },
            timed("convolution", label + " + bias + ReLU", .flops(2 * Double(g.rows * g.patchLength * channels))) { context in
                let backend = context.backend
                let x = try context.random([g.batch, size, size, channels]), patches = try backend.makeTensor(shape: patchShape)
                let weight = try context.random([channels, g.patchLength]), bias = try context.random([channels])
                let y = try backend.makeTensor(shape: [g.batch, g.outHeight, g.outWidth, channels])
                return {
                    try backend.convolution(x, weight: weight, bias: bias, kernelSize: 3, stride: 1, padding: 1,
                                            scratch: patches, into: y, activation: .relu)
                }
            },
        ]
    }
}

// MARK: Check cases

extension KernelCheck {
    /// Patch matrices at odd sizes, strides 1 and 2, kernels 1, 3, 5 (one wider than the image
    /// but for its padding); whole convolutions with bias + ReLU and with a residual + ReLU.
    static let convolutionCases: [Case] = {
        var cases: [Case] = []
        let shapes: [(batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int)] = [
            (2, 7, 9, 3, 3, 1, 1), (1, 15, 15, 5, 3, 2, 1), (3, 5, 6, 2, 1, 1, 0), (1, 4, 3, 1, 5, 1, 2), (2, 11, 11, 3, 3, 2, 0),
        ]
        for s in shapes {
            let g = ConvolutionGeometry(batch: s.batch, height: s.height, width: s.width, channels: s.channels,
                                        kernelSize: s.kernel, stride: s.stride, padding: s.padding)
            let label = "[\(s.batch), \(s.height), \(s.width), \(s.channels)] k\(s.kernel) s\(s.stride) p\(s.padding)"
            cases.append(Case(operation: "convolutionPatches", shape: label, absoluteTolerance: 0, relativeTolerance: 0, run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: [s.batch, s.height, s.width, s.channels])
                let y = try poisoned(backend, [s.batch, g.outHeight, g.outWidth, g.patchLength])
                try backend.convolutionPatches(x, kernelSize: s.kernel, stride: s.stride, padding: s.padding, into: y)
                return try backend.read(y)
            }, inputCounts: [s.batch * s.height * s.width * s.channels], inputRange: -1...1))
        }
        for (s, outChannels, residual) in [(shapes[0], 13, false), (shapes[1], 64, true), (shapes[2], 67, true)] {
            let g = ConvolutionGeometry(batch: s.batch, height: s.height, width: s.width, channels: s.channels,
                                        kernelSize: s.kernel, stride: s.stride, padding: s.padding)
            let outputCount = g.rows * outChannels
            let label = "[\(s.batch), \(s.height), \(s.width), \(s.channels)] k\(s.kernel) s\(s.stride) → \(outChannels)"
                + (residual ? " + residual" : "") + " + bias, ReLU (fused)"
            cases.append(Case(operation: "convolution", shape: label, absoluteTolerance: 1e-5, relativeTolerance: 1e-4, run: { backend, inputs in
                let x = try backend.upload(inputs[0], shape: [s.batch, s.height, s.width, s.channels])
                let weight = try backend.upload(inputs[1], shape: [outChannels, g.patchLength])
                let bias = try backend.upload(inputs[2], shape: [outChannels])
                let scratch = try poisoned(backend, [g.rows * g.patchLength])
                let y = residual ? try backend.upload(inputs[3], shape: [g.batch, g.outHeight, g.outWidth, outChannels])
                    : try poisoned(backend, [g.batch, g.outHeight, g.outWidth, outChannels])
                try backend.convolution(x, weight: weight, bias: bias, kernelSize: s.kernel, stride: s.stride, padding: s.padding,
                                        scratch: scratch, into: y, activation: .relu, accumulate: residual)
                return try backend.read(y)
            }, inputCounts: [s.batch * s.height * s.width * s.channels, outChannels * g.patchLength, outChannels, outputCount],
               inputRange: -1...1))
        }
        return cases
    }()
}
