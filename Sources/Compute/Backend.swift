/// Element-wise nonlinearity applied by `Backend.activation`.
public enum Activation: String, Sendable, CaseIterable {
    /// CLIP's `x · sigmoid(1.702 x)`.
    case quickGELU
    /// The exact GELU `x · Φ(x) = 0.5 x (1 + erf(x / √2))`.
    case gelu
    /// `max(x, 0)`: the ResNet image tower's nonlinearity.
    case relu
}

/// How `Backend.matmul` combines its operands: `C = act(alpha · op(A) · op(B) + beta · C + bias)`.
public struct MatmulOptions: Sendable, Equatable {
    /// Use `Aᵀ`: `A` is stored `[batch, k, m]` instead of `[batch, m, k]`.
    public var transposeA: Bool
    /// Use `Bᵀ`: `B` is stored `[batch, n, k]` instead of `[batch, k, n]` (a linear layer's `[out, in]` weight).
    public var transposeB: Bool
    /// Scale of the product.
    public var alpha: Float
    /// Scale of the existing contents of `C`; 0 overwrites (and ignores whatever `C` held, NaN included).
    /// 1 folds a residual addition into the product (`x + linear(y)` in one launch).
    public var beta: Float
    /// An activation applied to every output element after the bias (a linear layer and its
    /// GELU in one launch); `nil` for none.
    public var activation: Activation?

    public init(transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1, beta: Float = 0, activation: Activation? = nil) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.alpha = alpha
        self.beta = beta
        self.activation = activation
    }
}

/// A compute device: owns tensor memory and runs the operations every model in the project is
/// built from. `CPUBackend` and `OpenCLBackend` implement it; model code sees only this protocol.
///
/// Shapes: the last one or two dimensions of a tensor are the matrix or row dimensions, the
/// leading ones are flattened into a batch or row count. Outputs are passed in (`into:`), so a
/// caller can reuse buffers across batches; an output may not alias an input unless stated.
public protocol Backend: AnyObject, Sendable {
    /// Short name such as `cpu` or `opencl:0`.
    var name: String { get }
    /// One line describing the device, for logs and run records.
    var deviceDescription: String { get }

    /// A tensor of `shape` with unspecified contents.
    /// - Throws: `ComputeError.allocationFailed` when the memory cannot be had.
    func makeTensor(shape: [Int]) throws -> Tensor
    /// A new tensor holding `values` with `shape` that is only read from now on: a model's
    /// weight. The backend may keep rearranged copies of it for its products (packed panels on
    /// CPU OpenCL drivers, the untransposed layout on GPUs), made at first use and reused by
    /// every later product, so a constant must not be the output of any operation.
    /// - Throws: `ComputeError.shapeMismatch` when the value count does not match the shape.
    func uploadConstant(_ values: [Float], shape: [Int]) throws -> Tensor
    /// Copies `values` (row-major, `shape.product` of them) into `tensor`.
    func write(_ values: [Float], to tensor: Tensor) throws
    /// The elements of `tensor`, row-major. Waits for pending work on the tensor.
    func read(_ tensor: Tensor) throws -> [Float]
    /// Copies `source` into `destination` (same element count).
    func copy(_ source: Tensor, to destination: Tensor) throws
    /// Sets every element of `tensor` to `value`.
    func fill(_ tensor: Tensor, with value: Float) throws
    /// Blocks until all submitted work has finished.
    func synchronize() throws

    /// Matrix product `C = act(alpha · op(A) · op(B) + beta · C (+ bias))`, batched.
    ///
    /// - `a`: `[batchA, m, k]` (`[batchA, k, m]` when `transposeA`); `batchA` is 1 or `batch`.
    /// - `b`: `[batchB, k, n]` (`[batchB, n, k]` when `transposeB`); `batchB` is 1 or `batch`.
    /// - `bias`: optional `[n]`, added to every row of every product.
    /// - `c`: `[batch, m, n]`. Leading dimensions beyond the last two are flattened into the batch.
    func matmul(_ a: Tensor, _ b: Tensor, bias: Tensor?, into c: Tensor, options: MatmulOptions) throws

    /// Row-wise softmax of `scale · x`, numerically stable (the row maximum is subtracted).
    ///
    /// - `x`, `y`: `[rows, columns]` (leading dimensions flattened into rows); `y` may be `x`.
    /// - `causalMask`: treat `x` as stacked `[columns, columns]` score matrices and give weight 0
    ///   to column `j > i` in row `i` of each (the text tower's attention).
    func softmaxRows(_ x: Tensor, into y: Tensor, scale: Float, causalMask: Bool) throws

    /// Layer normalisation over the last dimension: `y = (x − mean) / √(var + ε) · weight + bias`.
    ///
    /// - `x`, `y`: `[rows, width]`; `weight`, `bias`: `[width]`; `y` may be `x`.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, into y: Tensor) throws

    /// Scales every row to unit L2 norm (rows of zeros stay zero). `x`, `y`: `[rows, width]`.
    func l2NormalizeRows(_ x: Tensor, into y: Tensor) throws

    /// Cosine similarity of every row of `a` with every row of `b`.
    ///
    /// - `a`: `[m, width]`, `b`: `[n, width]`, `c`: `[m, n]`.
    func cosineSimilarity(_ a: Tensor, _ b: Tensor, into c: Tensor) throws

    /// Element-wise activation. `x`, `y`: same element count; `y` may be `x`.
    func activation(_ kind: Activation, _ x: Tensor, into y: Tensor) throws

    /// Element-wise `c = a + b`, where `b` is either the same size as `a` or a row `[width]`
    /// (or any block whose size divides `a`'s) broadcast over `a`'s leading dimensions.
    /// `c` may be `a`.
    func add(_ a: Tensor, _ b: Tensor, into c: Tensor) throws

    /// Element-wise `y = factor · x`. `y` may be `x`.
    func scale(_ x: Tensor, by factor: Float, into y: Tensor) throws

    /// Copies rows of `table` `[rows, width]` selected by `indices` into `y` `[indices.count, width]`:
    /// embedding lookups and pooling (class token, end-of-text position).
    func gatherRows(_ table: Tensor, indices: [Int32], into y: Tensor) throws

    /// Reorders the axes of `x`: `y.shape[i] == x.shape[permutation[i]]`. At most 6 axes.
    /// Used to split attention heads (`[b, t, h, d] → [b, h, t, d]`) and to cut images into
    /// patches (`[b, c, gy, p, gx, p] → [b, gy, gx, c, p, p]`).
    func permute(_ x: Tensor, permutation: [Int], into y: Tensor) throws

    /// Multi-head scaled dot-product attention over a fused query/key/value product, in one pass:
    /// `y[b, t, h · d + i] = Σ_s softmax_s(scale · q[b, t, h] · k[b, s, h]) · v[b, s, h · d + i]`,
    /// where `q`, `k`, `v` are the first, second and third `width` columns of `queryKeyValue`
    /// (`width = heads · headSize`, each split into heads of `headSize` columns).
    ///
    /// - `queryKeyValue`: `[batch, tokens, 3 · width]`; `y`: `[batch, tokens, width]`, token-major
    ///   (heads side by side), ready for the output product.
    /// - `causalMask`: token `t` attends to tokens `s ≤ t` only (the text tower).
    func attention(_ queryKeyValue: Tensor, heads: Int, scale: Float, causalMask: Bool, into y: Tensor) throws

    /// Cuts images into patch rows for the patch embedding (im2col of a convolution with stride =
    /// kernel = `patchSize`), with an all-zero row before each image's patches (the class
    /// token's slot): `y[b, 1 + gy · grid + gx, (c · p + py) · p + px] = x[b, c, gy · p + py, gx · p + px]`.
    ///
    /// - `pixels`: `[batch, channels, size, size]`; `y`: `[batch, 1 + grid², channels · p · p]`
    ///   with `grid = size / p`.
    func imagePatches(_ pixels: Tensor, patchSize: Int, into y: Tensor) throws

    /// The patch matrix (im2col) of a 2-D convolution over channels-last images, zero-padded:
    /// `y[b, oy, ox, (ky · k + kx) · C + c] = x[b, oy · stride + ky − padding, ox · stride + kx − padding, c]`.
    /// `convolution(_:weight:…)` multiplies it by the weight.
    ///
    /// - `x`: `[batch, height, width, C]`; `y`: `[batch, outHeight, outWidth, k · k · C]` with
    ///   `outHeight = (height + 2 · padding − k) / stride + 1` (likewise `outWidth`).
    func convolutionPatches(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int, into y: Tensor) throws

    /// Average pooling of channels-last images with window = stride = `window`, no padding
    /// (PyTorch's `AvgPool2d(window)`): `x` `[batch, height, width, C]`, `y`
    /// `[batch, height / window, width / window, C]` (rounded down).
    func averagePool(_ x: Tensor, window: Int, into y: Tensor) throws
}

extension Backend {
    /// A new tensor holding `values` with `shape`.
    /// - Throws: `ComputeError.shapeMismatch` when the value count does not match the shape.
    public func upload(_ values: [Float], shape: [Int]) throws -> Tensor {
        let tensor = try makeTensor(shape: shape)
        try write(values, to: tensor)
        return tensor
    }

    /// A plain upload: backends that keep no rearranged weights treat constants like any tensor.
    public func uploadConstant(_ values: [Float], shape: [Int]) throws -> Tensor {
        try upload(values, shape: shape)
    }

    /// `matmul` without bias.
    public func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor, options: MatmulOptions = MatmulOptions()) throws {
        try matmul(a, b, bias: nil, into: c, options: options)
    }
}
