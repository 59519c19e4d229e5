import Foundation

/// Which matrix-product kernel of `matmul.cl` runs.
public enum MatmulVariant: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// `matmul_tiled`: local-memory tiles, register blocks spread over the work-group (GPUs).
    case tiled
    /// `matmul_packed`: explicit SIMD register blocks over operands packed in panels, no local
    /// memory (CPU drivers such as PoCL).
    case packed
    /// `matmul_blocked`: CLBlast's design: 8 × 8 register blocks per work-item, float4 loads,
    /// padded local tiles for both operand layouts (GPUs).
    case blocked

    public var description: String { rawValue }
}

/// How the row-wise kernels (softmax, layer norm, L2 normalisation, and attention, whose inner
/// loop is a softmax over one query's row of scores) are laid out.
public enum RowVariant: String, Sendable, CaseIterable, CustomStringConvertible {
    /// One work-group per row, tree reduction in local memory; attention with key/value tiles
    /// shared by the work-group in local memory (GPUs).
    case groupPerRow
    /// One work-item per row, `float8` loops, no barriers; attention reading keys and values
    /// from global memory (CPU drivers).
    case itemPerRow

    public var description: String { rawValue }
}

/// The kernel variants an `OpenCLBackend` runs, one per operation family that has several.
public struct KernelVariants: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The matrix-product kernel.
    public var matmul: MatmulVariant
    /// The row-reduction layout.
    public var rows: RowVariant

    public init(matmul: MatmulVariant, rows: RowVariant) {
        self.matmul = matmul
        self.rows = rows
    }

    /// A named set of variants: what a kind of device runs by default.
    public enum Family: String, Sendable, CaseIterable, CustomStringConvertible {
        /// The GPU-style kernels: `blocked` matmul, `groupPerRow` reductions.
        case gpu
        /// The CPU-style kernels: `packed` matmul, `itemPerRow` reductions.
        case cpu

        public var description: String { rawValue }
    }

    /// The variants of `family`.
    public init(family: Family) {
        switch family {
        case .gpu: self.init(matmul: .blocked, rows: .groupPerRow)
        case .cpu: self.init(matmul: .packed, rows: .itemPerRow)
        }
    }

    /// Every combination of variants: what `kernels check --all-variants` and the tests run.
    public static let allCombinations: [KernelVariants] = MatmulVariant.allCases.flatMap { matmul in
        RowVariant.allCases.map { KernelVariants(matmul: matmul, rows: $0) }
    }

    public var description: String { "matmul=\(matmul),rows=\(rows)" }
}

/// A forced choice of kernel variants, from `--kernel-variant` or `UPADAPTER_KERNEL_VARIANT`:
/// what a device's own table picks is replaced where this says otherwise. It does not come from
/// a configuration file, so the same run configuration can be checked with every variant.
///
/// Accepted text: `auto` (no override), a family (`gpu`, `cpu`), a variant name (`tiled`,
/// `packed`, `groupPerRow`, `itemPerRow`) or `family=value` pairs (`matmul=tiled`,
/// `rows=itemPerRow`), several separated by commas (`gpu,matmul=packed`); later items win.
public struct KernelVariantOverride: Sendable, Equatable, CustomStringConvertible {
    /// The environment variable consulted when no `--kernel-variant` flag is given.
    public static let environmentVariable = "UPADAPTER_KERNEL_VARIANT"

    /// The forced matrix-product kernel, or `nil` for the device's own choice.
    public var matmul: MatmulVariant?
    /// The forced row layout, or `nil` for the device's own choice.
    public var rows: RowVariant?

    /// No override: every device runs what its table picks.
    public static let none = KernelVariantOverride(matmul: nil, rows: nil)

    public init(matmul: MatmulVariant? = nil, rows: RowVariant? = nil) {
        self.matmul = matmul
        self.rows = rows
    }

    /// Forces every family to the variants of `family`.
    public init(family: KernelVariants.Family) {
        let variants = KernelVariants(family: family)
        self.init(matmul: variants.matmul, rows: variants.rows)
    }

    /// Parses an override such as `gpu` or `matmul=tiled,rows=itemPerRow` (case-insensitive).
    /// - Throws: `ComputeError.invalidKernelVariant` naming the item that is not understood.
    public init(parsing text: String) throws {
        self = .none
        for rawItem in text.split(separator: ",") {
            let item = rawItem.trimmingCharacters(in: .whitespaces).lowercased()
            if item.isEmpty || item == "auto" { continue }
            if let family = KernelVariants.Family.allCases.first(where: { $0.rawValue == item }) {
                let variants = KernelVariants(family: family)
                matmul = variants.matmul
                rows = variants.rows
                continue
            }
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0) }
            let key = parts.count == 2 ? parts[0] : nil
            let value = parts.count == 2 ? parts[1] : item
            let matmulChoice = MatmulVariant.allCases.first { $0.rawValue.lowercased() == value }
            let rowChoice = RowVariant.allCases.first { $0.rawValue.lowercased() == value }
            switch (key, matmulChoice, rowChoice) {
            case ("matmul"?, let choice?, _), (nil, let choice?, _): matmul = choice
            case ("rows"?, _, let choice?), (nil, _, let choice?): rows = choice
            default: throw ComputeError.invalidKernelVariant(text: text, item: String(rawItem))
            }
        }
    }

    /// The override in force: the flag if given, else `UPADAPTER_KERNEL_VARIANT` from
    /// `environment`, else none.
    /// - Throws: `ComputeError.invalidKernelVariant` for text that does not parse.
    public static func resolve(
        flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> KernelVariantOverride {
        if let flag { return try KernelVariantOverride(parsing: flag) }
        if let variable = environment[environmentVariable], !variable.isEmpty {
            return try KernelVariantOverride(parsing: variable)
        }
        return .none
    }

    /// `variants` with the forced families replaced.
    public func applied(to variants: KernelVariants) -> KernelVariants {
        KernelVariants(matmul: matmul ?? variants.matmul, rows: rows ?? variants.rows)
    }

    public var description: String {
        let items = [matmul.map { "matmul=\($0)" }, rows.map { "rows=\($0)" }].compactMap { $0 }
        return items.isEmpty ? "auto" : items.joined(separator: ",")
    }
}

/// The per-device table of kernel variants and tunables (CLBlast's habit): every size the host
/// passes to a kernel as a define or a work-group size comes from here, chosen by device kind,
/// never from a string test at a launch site.
public struct KernelTuning: Sendable, Equatable {
    /// The variants the device runs.
    public var variants: KernelVariants
    /// `matmul_tiled`: the C tile per work-group (`TILE_M` = `TILE_N`), before fitting the
    /// device's work-group limit.
    public var matmulTile: Int
    /// `matmul_tiled`: the step along K (`TILE_K`).
    public var matmulTileK: Int
    /// `matmul_tiled`: outputs per work-item along each axis (`WORK_M` = `WORK_N`).
    public var matmulWork: Int
    /// `matmul_blocked`: the C tile per work-group, outputs per work-item along each axis, the
    /// step along K and the padding of each local-tile row.
    public var blockedTile: Int
    public var blockedWork: Int
    public var blockedTileK: Int
    public var blockedPadding: Int
    /// `matmul_packed`: the float vector width of the register block (4, 8 or 16).
    public var packedVectorWidth: Int
    /// `groupPerRow`: the largest work-group of a one-row-per-group reduction.
    public var rowGroupLimit: Int
    /// `itemPerRow`: rows (work-items) per work-group.
    public var rowsPerGroup: Int
    /// The training reductions (`prototype_head.cl`): the largest work-group.
    public var trainerGroupLimit: Int

    /// The table's entry for `device`, with `override` applied to the variants.
    public static func forDevice(_ device: OpenCLDeviceInfo, override: KernelVariantOverride = .none) -> KernelTuning {
        forDevice(type: device.type, maxWorkGroupSize: device.maxWorkGroupSize,
                  preferredVectorWidth: device.preferredVectorWidth, override: override)
    }

    /// The table's entry for a device of `type`.
    public static func forDevice(
        type: OpenCLDeviceType, maxWorkGroupSize: Int, preferredVectorWidth: Int, override: KernelVariantOverride = .none
    ) -> KernelTuning {
        let limit = max(maxWorkGroupSize, 1)
        // The register block of matmul_packed fits the vector registers: 32 of 16 floats with
        // AVX-512, 16 of 8 with AVX2, fewer and narrower elsewhere.
        let vectorWidth = [16, 8, 4].first { $0 <= max(preferredVectorWidth, 4) } ?? 4
        var tuning: KernelTuning
        switch type {
        case .cpu:
            tuning = KernelTuning(
                variants: KernelVariants(family: .cpu), matmulTile: limit >= 256 ? 64 : 32, matmulTileK: 16, matmulWork: 4,
                blockedTile: 64, blockedWork: 8, blockedTileK: 16, blockedPadding: 1,
                packedVectorWidth: vectorWidth, rowGroupLimit: min(256, limit),
                // 64 rows per work-group: measured best on PoCL (16: −10–40 %, 256: −25 %).
                rowsPerGroup: min(64, limit),
                // CPU drivers run a work-group's items as loops split at every barrier: wide
                // groups only add loop overhead.
                trainerGroupLimit: min(32, limit))
        case .gpu, .accelerator, .other:
            tuning = KernelTuning(
                variants: KernelVariants(family: .gpu), matmulTile: limit >= 256 ? 64 : 32, matmulTileK: 16, matmulWork: 4,
                // 64 × 64 tiles of 8 × 8 per work-item: 64 work-items, which every GPU runs.
                blockedTile: 64, blockedWork: 8, blockedTileK: 16, blockedPadding: 1,
                packedVectorWidth: vectorWidth, rowGroupLimit: min(256, limit), rowsPerGroup: min(64, limit),
                trainerGroupLimit: min(256, limit))
        }
        tuning.variants = override.applied(to: tuning.variants)
        return tuning
    }
}
