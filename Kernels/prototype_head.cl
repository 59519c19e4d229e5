// =================================================================================================
// prototype_head.cl: zero-shot selection and prototype training (affinity head, loss, AdamW)
//
//   copy_rows:                  y[r][c] = x[start + r][c]
//   gather_rows_indexed:        y[r][c] = table[indices[start + r]][c]
//   prototype_logits:           E[b][k] = exp(−β (1 − A[b][k]))
//                               logits[b][c] = zeroShot[b][c] + α · Σ_{k = offsets[c]}^{offsets[c+1]−1} E[b][k]
//   softmax_cross_entropy:      loss[r] = log Σ_c exp(x[r][c]) − x[r][t_r]
//                               grad[r][c] = scale · (softmax(x[r])[c] − [c == t_r])
//   prototype_affinity_gradient: dA[b][k] = factor · E[b][k] · dlogits[b][keyClasses[k]]
//   adamw_step:                 p ← p(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
//                               p ← p − (lr / c₁) · m / (√v / c₂ + ε)   (c₁ = 1−β₁ᵗ, c₂ = √(1−β₂ᵗ))
//   row_maximum:                maxima[r] = max_c x[r][c], indices[r] = lowest c attaining it;
//                               with asProbability, maxima[r] = 1 / Σ_c exp(x[r][c] − max) instead
//                               (the largest softmax probability: the zero-shot confidence)
//   reduce_sum:                 output[index] = scale · Σ_i x[i]
//
// Layout: row-major float32. Integer data (row indices, targets, class offsets, key classes) is
//   stored as integral floats, exact below 2²⁴, and converted with (int) on load.
//   Shapes: A, E, dA are [batch][keys]; zeroShot, logits, dlogits are [batch][classes];
//   offsets is [classes + 1], non-decreasing from 0 to keys (keys sorted by class, so the one-hot
//   value matrix L of the head never exists: E·L is a per-class range sum, dlogits·Lᵀ a gather).
//   Outputs may alias the matching input (E over A, logits over zeroShot, grad over x, dA over E).
//
// Algorithm:
//   copy_rows, gather_rows_indexed: one work-item per output element, a 1-D range over
//     rows · width (rounded up and guarded), so neighbours touch neighbouring words and the row
//     count is not capped by a GPU grid's 65 535 groups in dimensions 1 and 2.
//   prototype_affinity_gradient: one work-item per element of a [rows][width] grid (dimension 0 =
//     column, rounded up and guarded), so neighbours touch neighbouring words.
//   prototype_logits: one work-item per (class, row); it exponentiates its class's key range,
//     writes E and the fused logit. Each key belongs to exactly one class, so E is written once.
//   softmax_cross_entropy, row_maximum: one work-group of GROUP_SIZE work-items per row; strided
//     loops and tree reductions in local memory (max, then sum of exponentials / max with index).
//   adamw_step: one work-item per parameter.
//   reduce_sum: one work-group of GROUP_SIZE work-items; strided partial sums, tree reduction.
//
// Tunables (-D): GROUP_SIZE (a power of two, at most the device's work-group limit) for the
//   row and sum reductions.
// =================================================================================================

#ifndef GROUP_SIZE
#define GROUP_SIZE 64
#endif

__kernel void copy_rows(const int rows, const int width, const int start,
                        __global const float* x, __global float* y) {
    const size_t index = get_global_id(0);
    if (index >= (size_t)rows * width) return;
    const int row = (int)(index / width);
    const int column = (int)(index - (size_t)row * width);
    y[index] = x[(size_t)(start + row) * width + column];
}

__kernel void gather_rows_indexed(const int rows, const int width, const int start,
                                  __global const float* table, __global const float* indices,
                                  __global float* y) {
    const size_t index = get_global_id(0);
    if (index >= (size_t)rows * width) return;
    const int row = (int)(index / width);
    const int column = (int)(index - (size_t)row * width);
    const int source = (int)indices[start + row];
    y[index] = table[(size_t)source * width + column];
}

__kernel void prototype_logits(const int batch, const int keys, const int classes,
                               const float alpha, const float beta,
                               __global const float* affinity, __global const float* zeroShot,
                               __global const float* offsets,
                               __global float* exponentials, __global float* logits) {
    const int classIndex = get_global_id(0);
    const int row = get_global_id(1);
    if (classIndex >= classes || row >= batch) return;
    const int first = (int)offsets[classIndex], last = (int)offsets[classIndex + 1];
    __global const float* inputRow = affinity + (size_t)row * keys;
    __global float* outputRow = exponentials + (size_t)row * keys;
    float sum = 0.0f;
    for (int key = first; key < last; ++key) {
        const float value = exp(beta * (inputRow[key] - 1.0f));
        outputRow[key] = value;
        sum += value;
    }
    const size_t position = (size_t)row * classes + classIndex;
    logits[position] = zeroShot[position] + alpha * sum;
}

// Tree reduction of `value` over the work-group into scratch[0].
#define REDUCE(scratch, value, combine)                                                    \
    scratch[lane] = (value);                                                              \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int span = GROUP_SIZE / 2; span > 0; span >>= 1) {                                \
        if (lane < span) scratch[lane] = combine(scratch[lane], scratch[lane + span]); \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
    }

#define ADD(a, b) ((a) + (b))

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void softmax_cross_entropy(const int classes, const float scale,
                           __global const float* x, __global const float* targets,
                           __global float* losses, __global float* gradient) {
    const int row = get_group_id(0);
    const int lane = get_local_id(0);
    __global const float* input = x + (size_t)row * classes;
    __global float* output = gradient + (size_t)row * classes;
    __local float scratch[GROUP_SIZE];
    const int target = (int)targets[row];
    const float targetLogit = input[target];

    float maximum = -INFINITY;
    for (int column = lane; column < classes; column += GROUP_SIZE) maximum = fmax(maximum, input[column]);
    REDUCE(scratch, maximum, fmax)
    maximum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    float sum = 0.0f;
    for (int column = lane; column < classes; column += GROUP_SIZE) sum += exp(input[column] - maximum);
    REDUCE(scratch, sum, ADD)
    sum = scratch[0];

    // Every work-item has read its own columns and the target logit; writes may now overwrite x.
    // The reduction's barriers fence local memory only: this one orders the global reads of x
    // (the target logit of another work-item's column) before the writes over it.
    barrier(CLK_GLOBAL_MEM_FENCE);
    const float factor = scale / sum;
    for (int column = lane; column < classes; column += GROUP_SIZE)
        output[column] = exp(input[column] - maximum) * factor - (column == target ? scale : 0.0f);
    if (lane == 0) losses[row] = log(sum) + maximum - targetLogit;
}

__kernel void prototype_affinity_gradient(const int batch, const int keys, const int classes, const float factor,
                                          __global const float* exponentials, __global const float* logitGradient,
                                          __global const float* keyClasses, __global float* affinityGradient) {
    const int key = get_global_id(0);
    const int row = get_global_id(1);
    if (key >= keys || row >= batch) return;
    const size_t position = (size_t)row * keys + key;
    const float upstream = logitGradient[(size_t)row * classes + (int)keyClasses[key]];
    affinityGradient[position] = factor * exponentials[position] * upstream;
}

__kernel void adamw_step(const int count, const float decay, const float stepSize, const float inverseRoot,
                         const float beta1, const float beta2, const float epsilon,
                         __global float* parameters, __global const float* gradient,
                         __global float* firstMoment, __global float* secondMoment) {
    const int index = get_global_id(0);
    if (index >= count) return;
    const float g = gradient[index];
    const float m = beta1 * firstMoment[index] + (1.0f - beta1) * g;
    const float v = beta2 * secondMoment[index] + (1.0f - beta2) * g * g;
    firstMoment[index] = m;
    secondMoment[index] = v;
    parameters[index] = parameters[index] * decay - stepSize * m / (sqrt(v) * inverseRoot + epsilon);
}

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void row_maximum(const int width, const int asProbability,
                 __global const float* x, __global float* indices, __global float* maxima) {
    const int row = get_group_id(0);
    const int lane = get_local_id(0);
    __global const float* input = x + (size_t)row * width;
    __local float values[GROUP_SIZE];
    __local int positions[GROUP_SIZE];

    // Each work-item keeps its best (value, lowest column); NaN loses to any number.
    float best = NAN;
    int bestColumn = width;
    for (int column = lane; column < width; column += GROUP_SIZE) {
        const float value = input[column];
        if (bestColumn == width || value > best || (isnan(best) && !isnan(value))) {
            best = value;
            bestColumn = column;
        }
    }
    values[lane] = best;
    positions[lane] = bestColumn;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = GROUP_SIZE / 2; span > 0; span >>= 1) {
        if (lane < span) {
            const float a = values[lane], b = values[lane + span];
            const int ia = positions[lane], ib = positions[lane + span];
            // Take b when it is better, or equally good (or both NaN) at a lower column.
            const bool aMissing = ia == width, bMissing = ib == width;
            bool takeB;
            if (bMissing) takeB = false;
            else if (aMissing) takeB = true;
            else if (isnan(a) != isnan(b)) takeB = isnan(a);
            else if (isnan(a)) takeB = ib < ia;
            else takeB = b > a || (b == a && ib < ia);
            if (takeB) {
                values[lane] = b;
                positions[lane] = ib;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float maximum = values[0];
    const int maximumColumn = positions[0];
    if (asProbability) {
        barrier(CLK_LOCAL_MEM_FENCE);
        float sum = 0.0f;
        for (int column = lane; column < width; column += GROUP_SIZE) sum += exp(input[column] - maximum);
        REDUCE(values, sum, ADD)
        if (lane == 0) {
            indices[row] = (float)maximumColumn;
            maxima[row] = 1.0f / values[0];
        }
    } else if (lane == 0) {
        indices[row] = (float)maximumColumn;
        maxima[row] = maximum;
    }
}

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void reduce_sum(const int count, const float scale, const int index, __global const float* x, __global float* output) {
    const int lane = get_local_id(0);
    __local float scratch[GROUP_SIZE];
    float sum = 0.0f;
    for (int position = lane; position < count; position += GROUP_SIZE) sum += x[position];
    REDUCE(scratch, sum, ADD)
    if (lane == 0) output[index] = scale * scratch[0];
}
