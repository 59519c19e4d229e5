// =================================================================================================
// PrototypeHead.swift: the operation family of Kernels/prototype_head.cl
//
// Zero-shot selection and prototype training: row copies and gathers, the affinity head forward and
// backward, softmax cross-entropy, AdamW, row maxima, sum reduction (`Kernels/prototype_head.cl`).
// Each operation has a file of its own in `PrototypeHead/` with, in this order: shape validation,
// the plain-loop twin (`ReferenceOps`, run by `ReferenceBackend`), the CPU fast path, the OpenCL
// launch, and its `kernels check` cases. This file holds what they share:
// the head's sizes, the backends' `TrainingBackend` conformances and the check-case helpers.
// Adding an operation to the family means a file in `PrototypeHead/`, its kernel and the
// `TrainingBackend` protocol (TrainerOps.swift).
// =================================================================================================

import Foundation

/// The sizes of the affinity head: `batch` rows, `keys` prototypes, `classes` classes.
struct HeadGeometry {
    var batch: Int
    var keys: Int
    var classes: Int
}

extension ReferenceBackend: TrainingBackend {}

extension CPUBackend: TrainingBackend {}

extension OpenCLBackend: TrainingBackend {}

// MARK: Check cases

extension KernelCheck {
    /// Integers in `0 ..< bound` drawn from uniform [-1, 1] inputs, so that every run of a case
    /// draws fresh indices from its random inputs.
    static func integers(_ values: [Float], below bound: Int) -> [Int] {
        values.map { min(bound - 1, max(0, Int((($0 + 1) / 2 * Float(bound)).rounded(.down)))) }
    }

    /// `keys` keys spread over `classes` classes (some classes may get none): the class offsets
    /// `[classes + 1]` and the class of each key, both as integral floats.
    static func keyLayout(_ values: [Float], keys: Int, classes: Int) -> (offsets: [Float], keyClasses: [Float]) {
        let keyClasses = integers(values, below: classes).sorted()
        var offsets = [Int](repeating: 0, count: classes + 1)
        for keyClass in keyClasses { offsets[keyClass + 1] += 1 }
        for index in 0..<classes { offsets[index + 1] += offsets[index] }
        return (offsets.map(Float.init), keyClasses.map(Float.init))
    }

    /// The training operations (`prototype_head.cl` on OpenCL): every output of each checked,
    /// concatenated, at odd sizes (37 rows, 53 keys over 10 classes, 1000-wide rows).
    static let trainingCases: [Case] = (
        copyRowsCases + gatherRowsCases + prototypeLogitsCases + softmaxCrossEntropyCases
        + prototypeAffinityGradientCases + adamWStepCases + rowMaximumCases + reduceSumCases
    ).map { $0.requiring(.training) }

    /// The training operations at the sizes, seeds and tolerances of the trainer's own tests
    /// (what `TrainingOpsTests` checked before it ran this list): inputs each case draws from a
    /// seed of its own, outputs into new tensors and in place.
    public static let trainingOperationTestCases: [Case] = (
        copyRowsTestCases + gatherRowsTestCases + prototypeLogitsTestCases + softmaxCrossEntropyTestCases
        + prototypeAffinityGradientTestCases + adamWStepTestCases + rowMaximumTestCases + reduceSumTestCases
    ).map { $0.requiring(.training) }
}

