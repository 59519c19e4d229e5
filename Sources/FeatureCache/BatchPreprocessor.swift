import CLIPEncoder
import Datasets
import Dispatch
import Foundation

/// Decodes, transforms, augments and preprocesses a batch of items on several threads
/// (`DispatchQueue.concurrentPerform`), writing each image's values straight into its slot of
/// the batch.
struct BatchPreprocessor: Sendable {
    let loader: ItemImageLoader
    let preprocessor: ImagePreprocessor
    /// Set for augmented views (`view ≥ 1`).
    let augmentation: ViewAugmentation?
    let view: Int

    /// A preprocessor for `model`'s input with `configuration` (the model's own by default);
    /// views `≥ 1` are augmented with `augmentationSeed`.
    /// - Throws: `FeatureCacheError.invalidSettings` when the preprocessing does not crop to
    ///   the model's input size.
    init(
        model: any ImageFeatureEncoder, configuration: PreprocessorConfiguration? = nil, view: Int,
        augmentationSeed: UInt64, loader: ItemImageLoader
    ) throws {
        var configuration = configuration ?? model.preprocessorConfiguration
        guard configuration.cropSize == model.inputImageSize, model.inputImageSize > 0 else {
            throw FeatureCacheError.invalidSettings(
                reason: "the preprocessing crops to \(configuration.cropSize) pixels but the model reads \(model.inputImageSize)")
        }
        if view > 0 {
            // Augmented views are already square at the input size: only normalise them.
            configuration.shortestEdge = configuration.cropSize
            augmentation = ViewAugmentation(seed: augmentationSeed, outputSize: model.inputImageSize)
        } else {
            augmentation = nil
        }
        preprocessor = ImagePreprocessor(configuration: configuration, maximumPixelCount: loader.maximumPixelCount)
        self.loader = loader
        self.view = view
    }

    /// Values per image.
    var elementsPerImage: Int { preprocessor.elementsPerImage }

    /// The preprocessed pixels of `items`, whose first has index `firstIndex` in the split.
    /// - Returns: `[items.count, 3, size, size]`.
    /// - Throws: the error of the lowest-numbered item that failed.
    func pixels(of items: ArraySlice<LabeledImage>, firstIndex: Int) throws -> [Float] {
        let perImage = elementsPerImage
        let batch = Array(items)
        let output = SharedOutput(count: batch.count * perImage)
        DispatchQueue.concurrentPerform(iterations: batch.count) { slot in
            do {
                let values = try preprocessedValues(of: batch[slot], index: firstIndex + slot)
                output.store(values, at: slot * perImage)
            } catch {
                output.fail(error, slot: slot)
            }
        }
        return try output.result()
    }

    /// One item's `[3, size, size]` values.
    func preprocessedValues(of item: LabeledImage, index: Int) throws -> [Float] {
        // Augmented views crop the full image first: draft decoding applies to plain views only.
        let draftSide = augmentation == nil ? preprocessor.configuration.draftSide : nil
        // A plain file is decoded in its own mode, so that the pipeline converts it to RGB where
        // its upstream does (after the crop for `openai`); transformed items and augmented views
        // work on RGB pixels.
        if augmentation == nil, item.transform == nil, case .file(let url) = item.source {
            return preprocessor.preprocess(try ImageDecoder.decodeSource(
                file: url, maximumPixelCount: loader.maximumPixelCount, draftSide: draftSide))
        }
        var image = try loader.image(for: item, index: index, draftSide: draftSide)
        if let augmentation { image = try augmentation.apply(to: image, index: index, view: view) }
        return preprocessor.preprocess(image)
    }
}

/// The batch buffer shared by the worker threads: each slot is written by exactly one thread,
/// and errors are collected under a lock.
private final class SharedOutput: @unchecked Sendable {
    // @unchecked: the buffer behind `base` is written at disjoint ranges only, `failure` only
    // under `lock`, and both are read after `concurrentPerform` has returned.
    private let base: UnsafeMutablePointer<Float>
    private let count: Int
    private var failure: (slot: Int, error: any Error)?
    private let lock = NSLock()

    init(count: Int) {
        base = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { base.deallocate() }

    func store(_ slotValues: [Float], at offset: Int) {
        slotValues.withUnsafeBufferPointer { source in
            guard let address = source.baseAddress else { return }
            (base + offset).update(from: address, count: source.count)
        }
    }

    func fail(_ error: any Error, slot: Int) {
        lock.withLock {
            if failure == nil || slot < (failure?.slot ?? Int.max) { failure = (slot, error) }
        }
    }

    func result() throws -> [Float] {
        if let failure = lock.withLock({ failure }) { throw failure.error }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }
}

/// One batch being preprocessed in the background while the model encodes the previous one.
final class PreprocessingJob: @unchecked Sendable {
    // @unchecked: `outcome` is written once by the background task before `group` leaves, and
    // read only after `group.wait()`.
    private let group = DispatchGroup()
    private var outcome: Result<[Float], any Error> = .success([])
    /// Images in the batch.
    let count: Int

    /// Starts preprocessing `items` (the first has index `firstIndex` in the split).
    init(preprocessor: BatchPreprocessor, items: ArraySlice<LabeledImage>, firstIndex: Int) {
        count = items.count
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            outcome = Result { try preprocessor.pixels(of: items, firstIndex: firstIndex) }
            group.leave()
        }
    }

    /// Waits until the batch is ready.
    func wait() { group.wait() }

    /// The batch's `[count, 3, size, size]` values, once ready.
    /// - Throws: the first item's error.
    func result() throws -> [Float] {
        group.wait()
        return try outcome.get()
    }
}
