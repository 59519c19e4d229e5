/// The kernel files of `Kernels/`, one per operation family.
public enum KernelFile: String, Sendable, CaseIterable, CustomStringConvertible {
    case attention = "attention.cl"
    case convolution = "convolution.cl"
    case elementwise = "elementwise.cl"
    case layerNorm = "layer_norm.cl"
    case layout = "layout.cl"
    case matmul = "matmul.cl"
    case normalize = "normalize.cl"
    case pooling = "pooling.cl"
    case prototypeHead = "prototype_head.cl"
    case softmax = "softmax.cl"

    public var description: String { rawValue }

    /// The kernels the file defines.
    public var kernels: [KernelName] { KernelName.allCases.filter { $0.file == self } }
}

/// Every kernel the host launches, by its name in OpenCL C. Its file is found in the embedded
/// sources, so a kernel added here cannot be launched from the wrong file, and `kernels check`
/// builds and creates every one of them.
public enum KernelName: String, Sendable, CaseIterable, CustomStringConvertible {
    // attention.cl
    case attentionRows = "attention_rows"
    case attentionTiled = "attention_tiled"
    // convolution.cl
    case convolutionPatches = "convolution_patches"
    // elementwise.cl
    case fillValue = "fill_value"
    case scale = "scale"
    case add = "add"
    case quickGELU = "quick_gelu"
    case gelu = "gelu"
    case relu = "relu"
    // layer_norm.cl
    case layerNorm = "layer_norm"
    case layerNormSerial = "layer_norm_serial"
    // layout.cl
    case gatherRows = "gather_rows"
    case permute = "permute"
    case copyValues = "copy_values"
    case packPanels = "pack_panels"
    case imagePatches = "image_patches"
    // matmul.cl
    case matmulTiled = "matmul_tiled"
    case matmulPacked = "matmul_packed"
    case matmulBlocked = "matmul_blocked"
    // normalize.cl
    case l2NormalizeRows = "l2_normalize_rows"
    case l2NormalizeRowsSerial = "l2_normalize_rows_serial"
    // pooling.cl
    case averagePool = "average_pool"
    // prototype_head.cl
    case copyRows = "copy_rows"
    case gatherRowsIndexed = "gather_rows_indexed"
    case prototypeLogits = "prototype_logits"
    case softmaxCrossEntropy = "softmax_cross_entropy"
    case prototypeAffinityGradient = "prototype_affinity_gradient"
    case adamWStep = "adamw_step"
    case rowMaximum = "row_maximum"
    case reduceSum = "reduce_sum"
    // softmax.cl
    case softmaxRows = "softmax_rows"
    case softmaxRowsSerial = "softmax_rows_serial"

    public var description: String { rawValue }

    /// The file that defines the kernel, as the embedded sources declare it
    /// (`KernelSources.declaringFiles`): each kernel's file is written once, in the file itself.
    /// A name that no embedded file declares is a build defect that the kernel-name test reports.
    public var file: KernelFile {
        guard let file = KernelSources.declaringFiles[rawValue].flatMap(KernelFile.init(rawValue:)) else {
            preconditionFailure("kernel \(rawValue) is declared in no embedded kernel file")
        }
        return file
    }

    /// The element-wise kernel of an activation.
    public static func activation(_ kind: Activation) -> KernelName {
        switch kind {
        case .quickGELU: return .quickGELU
        case .gelu: return .gelu
        case .relu: return .relu
        }
    }
}

/// A row reduction with a one-group-per-row and a one-item-per-row kernel.
enum RowKernel: Sendable, CaseIterable {
    case softmax
    case layerNorm
    case l2Normalize

    /// The kernel of `variant`.
    func kernel(_ variant: RowVariant) -> KernelName {
        switch (self, variant) {
        case (.softmax, .groupPerRow): return .softmaxRows
        case (.softmax, .itemPerRow): return .softmaxRowsSerial
        case (.layerNorm, .groupPerRow): return .layerNorm
        case (.layerNorm, .itemPerRow): return .layerNormSerial
        case (.l2Normalize, .groupPerRow): return .l2NormalizeRows
        case (.l2Normalize, .itemPerRow): return .l2NormalizeRowsSerial
        }
    }
}

/// The tunables a host passes to a kernel file as `-D NAME=value`; each file declares its
/// defaults with `#ifndef`.
public enum KernelDefine: String, Sendable, CaseIterable, Comparable {
    case groupSize = "GROUP_SIZE"
    case tileM = "TILE_M"
    case tileN = "TILE_N"
    case tileK = "TILE_K"
    case workM = "WORK_M"
    case workN = "WORK_N"
    case vectors = "VECTORS"
    case vectorWidth = "VECTOR_WIDTH"
    case transposeA = "TRANSPOSE_A"
    case transposeB = "TRANSPOSE_B"
    case activation = "ACTIVATION"
    case padding = "PADDING"
    case headSize = "HEAD_SIZE"
    case keyTile = "KEY_TILE"

    public static func < (left: KernelDefine, right: KernelDefine) -> Bool { left.rawValue < right.rawValue }

    /// The `ACTIVATION` code of matmul.cl's epilogue: 0 none, 1 QuickGELU, 2 GELU, 3 ReLU.
    static func activationCode(_ kind: Activation?) -> Int {
        switch kind {
        case nil: return 0
        case .quickGELU?: return 1
        case .gelu?: return 2
        case .relu?: return 3
        }
    }
}

/// A kernel with its defines: the key of the backend's program and kernel caches. Hashing it
/// costs no string building at launch time.
struct KernelKey: Hashable, Sendable {
    let name: KernelName
    /// Sorted by define.
    let defines: [Define]

    struct Define: Hashable, Sendable {
        let define: KernelDefine
        let value: Int
    }

    init(_ name: KernelName, _ defines: [KernelDefine: Int] = [:]) {
        self.name = name
        self.defines = defines.map { Define(define: $0.key, value: $0.value) }.sorted { $0.define < $1.define }
    }

    /// The program this kernel comes from: its file with the same defines.
    var program: ProgramKey { ProgramKey(file: name.file, defines: defines) }

    /// `-D` options for `clBuildProgram`.
    var buildOptions: String { program.buildOptions }
}

/// A kernel file built with a set of defines.
struct ProgramKey: Hashable, Sendable {
    let file: KernelFile
    let defines: [KernelKey.Define]

    var buildOptions: String {
        (["-cl-std=CL1.2"] + defines.map { "-D \($0.define.rawValue)=\($0.value)" }).joined(separator: " ")
    }
}
