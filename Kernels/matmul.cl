// =================================================================================================
// matmul.cl: batched matrix product
//
//   C = act(alpha · op(A) · op(B) + beta · C  (+ bias, broadcast over rows))
//
//   act is chosen by ACTIVATION: 0 none, 1 QuickGELU x · sigmoid(1.702 x), 2 exact GELU
//   0.5 x (1 + erf(x / √2)), 3 ReLU max(x, 0); beta = 1 folds a residual addition into the product. Both save a
//   launch and a pass over C in the encoder (the MLP's first product, the attention and MLP outputs).
//
// Layout: row-major float32. For batch b (global dimension 2):
//   A_b = A + b · strideA, B_b = B + b · strideB (a stride of 0 shares the matrix), C_b = C + b · M · N
//   op(A) is M × K, stored [M][K], or [K][M] when TRANSPOSE_A is 1
//   op(B) is K × N, stored [K][N], or [N][K] when TRANSPOSE_B is 1
//   bias is [N] when hasBias is non-zero. With beta == 0, C is not read (NaN-poisoned C is fine).
//
// Three variants; the host picks one per device (none needs M, N or K to be multiples of a tile):
//
// matmul_tiled (GPUs): a work-group of (TILE_N / WORK_N) × (TILE_M / WORK_M) work-items computes a
//   TILE_M × TILE_N block of C. Per step of TILE_K along K, the group stages an A tile and a B tile in
//   local memory (zero-padded at the edges), then every work-item accumulates WORK_M × WORK_N
//   outputs in registers, spaced by the work-group size so that neighbouring work-items read
//   neighbouring local-memory words. Global traffic drops by TILE_M (for B) and TILE_N (for A).
//
// matmul_blocked (GPUs, CLBlast's design): a work-group of THREADS_N × THREADS_M work-items computes a
//   TILE_M × TILE_N block of C, each work-item a register block of WORK_M × WORK_N outputs (8 × 8 by
//   default: 64 accumulators, 16 operands per step, 4 FMAs per local-memory word read). Per step of
//   TILE_K along K the group loads both tiles with float4 loads along each operand's contiguous
//   dimension (K for A and for a transposed B, which every linear layer is; M or N otherwise),
//   bounds-checked only at the edges, into k-major local tiles padded by PADDING words per row so
//   that the transposing stores of either layout spread over the banks. Work-item (x, y) owns rows
//   y + i · THREADS_M and columns x + j · THREADS_N: neighbouring work-items read neighbouring words
//   of the B tile and one broadcast word of the A tile.
//
// matmul_packed (CPU devices such as PoCL): no local memory and no barriers, which CPU drivers
//   emulate with loops over work-items and spills. Explicit SIMD instead, like a BLAS micro-kernel:
//   each work-item keeps WORK_M × VECTORS accumulators of VECTOR_WIDTH floats in registers; per step
//   along K it loads VECTORS vectors of B and broadcasts WORK_M elements of A, so every load feeds
//   several fused multiply-adds. Both operands are first packed into panels (O(K · (M + N)) work
//   next to O(M · N · K)) so that each work-item streams contiguous memory: unpacked rows of
//   4 KiB pitch would all map to the same cache sets. With AVX-512 (VECTOR_WIDTH 16) the host picks
//   WORK_M 12, VECTORS 2: 24 accumulators + 2 B vectors of the 32 vector registers.
//
// Tunables (-D): TILE_M, TILE_N, TILE_K, WORK_M, WORK_N (tiled, blocked; blocked needs TILE_M,
//   TILE_N, TILE_K multiples of 4); PADDING (blocked); WORK_M, VECTORS, VECTOR_WIDTH (4, 8 or 16)
//   (packed); TRANSPOSE_A, TRANSPOSE_B (tiled, blocked); ACTIVATION (all).
// =================================================================================================

#ifndef ACTIVATION
#define ACTIVATION 0
#endif
#if ACTIVATION == 1
#define ACTIVATE(v) ((v) / (1.0f + exp(-1.702f * (v))))
#elif ACTIVATION == 2
#define ACTIVATE(v) (0.5f * (v) * (1.0f + erf((v) * 0.70710678118654752f)))
#elif ACTIVATION == 3
#define ACTIVATE(v) fmax((v), 0.0f)
#else
#define ACTIVATE(v) (v)
#endif

#ifndef TILE_M
#define TILE_M 64
#endif
#ifndef TILE_N
#define TILE_N 64
#endif
#ifndef TILE_K
#define TILE_K 16
#endif
#ifndef WORK_M
#define WORK_M 4
#endif
#ifndef WORK_N
#define WORK_N 4
#endif
#ifndef PADDING
#define PADDING 1
#endif
#ifndef VECTOR_WIDTH
#define VECTOR_WIDTH 8
#endif
#ifndef VECTORS
#define VECTORS 2
#endif
#ifndef TRANSPOSE_A
#define TRANSPOSE_A 0
#endif

#define CONCATENATE_(a, b) a##b
#define CONCATENATE(a, b) CONCATENATE_(a, b)
#define floatV CONCATENATE(float, VECTOR_WIDTH)
#define vloadV CONCATENATE(vload, VECTOR_WIDTH)
#define vstoreV CONCATENATE(vstore, VECTOR_WIDTH)
#ifndef TRANSPOSE_B
#define TRANSPOSE_B 0
#endif

#define THREADS_M (TILE_M / WORK_M)
#define THREADS_N (TILE_N / WORK_N)

#if TRANSPOSE_A
#define LOAD_A(row, inner) A[(inner) * M + (row)]
#else
#define LOAD_A(row, inner) A[(row) * K + (inner)]
#endif
#if TRANSPOSE_B
#define LOAD_B(inner, column) B[(column) * K + (inner)]
#else
#define LOAD_B(inner, column) B[(inner) * N + (column)]
#endif

__kernel __attribute__((reqd_work_group_size(THREADS_N, THREADS_M, 1)))
void matmul_tiled(const int M, const int N, const int K, const int strideA, const int strideB,
                  const float alpha, const float beta, const int hasBias,
                  __global const float* restrict A, __global const float* restrict B,
                  __global const float* restrict bias, __global float* restrict C) {
    const int batch = get_global_id(2);
    A += (size_t)batch * strideA;
    B += (size_t)batch * strideB;
    C += (size_t)batch * M * N;

    const int localColumn = get_local_id(0);
    const int localRow = get_local_id(1);
    const int thread = localRow * THREADS_N + localColumn;
    const int firstRow = get_group_id(1) * TILE_M;
    const int firstColumn = get_group_id(0) * TILE_N;

    // k-major tiles: a step along K reads one row of each.
    __local float tileA[TILE_K][TILE_M];
    __local float tileB[TILE_K][TILE_N];

    float accumulator[WORK_M][WORK_N];
    for (int wm = 0; wm < WORK_M; ++wm)
        for (int wn = 0; wn < WORK_N; ++wn) accumulator[wm][wn] = 0.0f;

    for (int start = 0; start < K; start += TILE_K) {
        for (int index = thread; index < TILE_M * TILE_K; index += THREADS_M * THREADS_N) {
#if TRANSPOSE_A
            const int row = index % TILE_M, inner = index / TILE_M;
#else
            const int row = index / TILE_K, inner = index % TILE_K;
#endif
            const int globalRow = firstRow + row, globalInner = start + inner;
            tileA[inner][row] = (globalRow < M && globalInner < K) ? LOAD_A(globalRow, globalInner) : 0.0f;
        }
        for (int index = thread; index < TILE_K * TILE_N; index += THREADS_M * THREADS_N) {
#if TRANSPOSE_B
            const int column = index / TILE_K, inner = index % TILE_K;
#else
            const int column = index % TILE_N, inner = index / TILE_N;
#endif
            const int globalColumn = firstColumn + column, globalInner = start + inner;
            tileB[inner][column] = (globalInner < K && globalColumn < N) ? LOAD_B(globalInner, globalColumn) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        for (int inner = 0; inner < TILE_K; ++inner) {
            float valuesA[WORK_M], valuesB[WORK_N];
            for (int wm = 0; wm < WORK_M; ++wm) valuesA[wm] = tileA[inner][localRow + wm * THREADS_M];
            for (int wn = 0; wn < WORK_N; ++wn) valuesB[wn] = tileB[inner][localColumn + wn * THREADS_N];
            for (int wm = 0; wm < WORK_M; ++wm)
                for (int wn = 0; wn < WORK_N; ++wn)
                    accumulator[wm][wn] = fma(valuesA[wm], valuesB[wn], accumulator[wm][wn]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int wm = 0; wm < WORK_M; ++wm) {
        const int row = firstRow + localRow + wm * THREADS_M;
        if (row >= M) continue;
        for (int wn = 0; wn < WORK_N; ++wn) {
            const int column = firstColumn + localColumn + wn * THREADS_N;
            if (column >= N) continue;
            float value = alpha * accumulator[wm][wn];
            if (beta != 0.0f) value += beta * C[row * N + column];
            if (hasBias) value += bias[column];
            C[row * N + column] = ACTIVATE(value);
        }
    }
}

// matmul_blocked: see the banner. Grid: (ceil(N / TILE_N) · THREADS_N, ceil(M / TILE_M) · THREADS_M, batch).
#define BLOCK_THREADS (THREADS_M * THREADS_N)

// Four consecutive elements of `source` from `offset`, of which the first `available` exist (0 beyond).
static inline float4 load4(__global const float* source, const int offset, const int available) {
    if (available >= 4) return vload4(0, source + offset);
    float4 value = (float4)(0.0f);
    if (available > 0) value.s0 = source[offset];
    if (available > 1) value.s1 = source[offset + 1];
    if (available > 2) value.s2 = source[offset + 2];
    return value;
}

__kernel __attribute__((reqd_work_group_size(THREADS_N, THREADS_M, 1)))
void matmul_blocked(const int M, const int N, const int K, const int strideA, const int strideB,
                    const float alpha, const float beta, const int hasBias,
                    __global const float* restrict A, __global const float* restrict B,
                    __global const float* restrict bias, __global float* restrict C) {
    const int batch = get_global_id(2);
    A += (size_t)batch * strideA;
    B += (size_t)batch * strideB;
    C += (size_t)batch * M * N;

    const int localColumn = get_local_id(0);
    const int localRow = get_local_id(1);
    const int thread = localRow * THREADS_N + localColumn;
    const int firstRow = get_group_id(1) * TILE_M;
    const int firstColumn = get_group_id(0) * TILE_N;

    __local float tileA[TILE_K][TILE_M + PADDING];
    __local float tileB[TILE_K][TILE_N + PADDING];

    float accumulator[WORK_M][WORK_N];
    _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm)
        _Pragma("unroll") for (int wn = 0; wn < WORK_N; ++wn) accumulator[wm][wn] = 0.0f;

    for (int start = 0; start < K; start += TILE_K) {
        for (int v = thread; v < TILE_M * TILE_K / 4; v += BLOCK_THREADS) {
#if TRANSPOSE_A  // A is [K][M]: four rows of one k
            const int inner = v / (TILE_M / 4), row = (v % (TILE_M / 4)) * 4;
            const int globalInner = start + inner, globalRow = firstRow + row;
            const float4 value = globalInner < K ? load4(A, globalInner * M + globalRow, M - globalRow) : (float4)(0.0f);
            tileA[inner][row] = value.s0; tileA[inner][row + 1] = value.s1;
            tileA[inner][row + 2] = value.s2; tileA[inner][row + 3] = value.s3;
#else            // A is [M][K]: four k of one row
            const int row = v / (TILE_K / 4), inner = (v % (TILE_K / 4)) * 4;
            const int globalInner = start + inner, globalRow = firstRow + row;
            const float4 value = globalRow < M ? load4(A, globalRow * K + globalInner, K - globalInner) : (float4)(0.0f);
            tileA[inner][row] = value.s0; tileA[inner + 1][row] = value.s1;
            tileA[inner + 2][row] = value.s2; tileA[inner + 3][row] = value.s3;
#endif
        }
        for (int v = thread; v < TILE_N * TILE_K / 4; v += BLOCK_THREADS) {
#if TRANSPOSE_B  // B is [N][K]: four k of one column
            const int column = v / (TILE_K / 4), inner = (v % (TILE_K / 4)) * 4;
            const int globalInner = start + inner, globalColumn = firstColumn + column;
            const float4 value = globalColumn < N ? load4(B, globalColumn * K + globalInner, K - globalInner) : (float4)(0.0f);
            tileB[inner][column] = value.s0; tileB[inner + 1][column] = value.s1;
            tileB[inner + 2][column] = value.s2; tileB[inner + 3][column] = value.s3;
#else            // B is [K][N]: four columns of one k
            const int inner = v / (TILE_N / 4), column = (v % (TILE_N / 4)) * 4;
            const int globalInner = start + inner, globalColumn = firstColumn + column;
            const float4 value = globalInner < K ? load4(B, globalInner * N + globalColumn, N - globalColumn) : (float4)(0.0f);
            tileB[inner][column] = value.s0; tileB[inner][column + 1] = value.s1;
            tileB[inner][column + 2] = value.s2; tileB[inner][column + 3] = value.s3;
#endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        _Pragma("unroll") for (int inner = 0; inner < TILE_K; ++inner) {
            float valuesA[WORK_M], valuesB[WORK_N];
            _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm) valuesA[wm] = tileA[inner][localRow + wm * THREADS_M];
            _Pragma("unroll") for (int wn = 0; wn < WORK_N; ++wn) valuesB[wn] = tileB[inner][localColumn + wn * THREADS_N];
            _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm)
                _Pragma("unroll") for (int wn = 0; wn < WORK_N; ++wn)
                    accumulator[wm][wn] = fma(valuesA[wm], valuesB[wn], accumulator[wm][wn]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm) {
        const int row = firstRow + localRow + wm * THREADS_M;
        if (row >= M) continue;
        _Pragma("unroll") for (int wn = 0; wn < WORK_N; ++wn) {
            const int column = firstColumn + localColumn + wn * THREADS_N;
            if (column >= N) continue;
            float value = alpha * accumulator[wm][wn];
            if (beta != 0.0f) value += beta * C[(size_t)row * N + column];
            if (hasBias) value += bias[column];
            C[(size_t)row * N + column] = ACTIVATE(value);
        }
    }
}

// matmul_packed: work-item (x, y) owns the WORK_M × (VECTORS · VECTOR_WIDTH) block of C at rows
// y · WORK_M …, columns x · VECTORS · VECTOR_WIDTH …. Operands are packed in panels (pack_panels in
// layout.cl), zero-padded at the edges:
//   A: [batch][ceil(M / WORK_M)][K][WORK_M]                          (WORK_M rows of op(A) per panel)
//   B: [batch][ceil(N / (VECTORS · VECTOR_WIDTH))][K][VECTORS · VECTOR_WIDTH]   (columns of op(B))
// so each work-item reads two contiguous streams. strideA / strideB are the packed batch strides.
// Global size: (ceil(N / (VECTORS · VECTOR_WIDTH)), ceil(M / WORK_M), batch), work-groups of 1.
__kernel void matmul_packed(const int M, const int N, const int K, const int strideA, const int strideB,
                            const float alpha, const float beta, const int hasBias,
                            __global const float* restrict A, __global const float* restrict B,
                            __global const float* restrict bias, __global float* restrict C) {
    const int batch = get_global_id(2);
    const int panelColumn = get_global_id(0);
    const int panelRow = get_global_id(1);
    const int firstColumn = panelColumn * VECTOR_WIDTH * VECTORS;
    const int firstRow = panelRow * WORK_M;
    if (firstColumn >= N || firstRow >= M) return;
    __global const float* panelA = A + (size_t)batch * strideA + (size_t)panelRow * K * WORK_M;
    __global const float* panelB = B + (size_t)batch * strideB + (size_t)panelColumn * K * VECTOR_WIDTH * VECTORS;
    C += (size_t)batch * M * N;

    // The loops over the register block are unrolled so the accumulators stay in registers.
    floatV accumulator[WORK_M][VECTORS];
    _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm)
        _Pragma("unroll") for (int v = 0; v < VECTORS; ++v) accumulator[wm][v] = (floatV)(0.0f);

    for (int inner = 0; inner < K; ++inner) {
        floatV valuesB[VECTORS];
        _Pragma("unroll") for (int v = 0; v < VECTORS; ++v) valuesB[v] = vloadV(inner * VECTORS + v, panelB);
        _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm) {
            const floatV valueA = (floatV)(panelA[inner * WORK_M + wm]);
            _Pragma("unroll") for (int v = 0; v < VECTORS; ++v)
                accumulator[wm][v] = fma(valueA, valuesB[v], accumulator[wm][v]);
        }
    }

    _Pragma("unroll") for (int wm = 0; wm < WORK_M; ++wm) {
        const int row = firstRow + wm;
        if (row >= M) break;
        _Pragma("unroll") for (int v = 0; v < VECTORS; ++v) {
            const int column = firstColumn + v * VECTOR_WIDTH;
            const int columns = min(VECTOR_WIDTH, N - column);
            if (columns <= 0) break;
            __global float* output = C + (size_t)row * N + column;
            floatV value = alpha * accumulator[wm][v];
            if (columns == VECTOR_WIDTH) {
                if (beta != 0.0f) value += beta * vloadV(0, output);
                if (hasBias) value += vloadV(0, bias + column);
                vstoreV(ACTIVATE(value), 0, output);
            } else {
                float lanes[VECTOR_WIDTH];
                vstoreV(value, 0, lanes);
                for (int lane = 0; lane < columns; ++lane) {
                    float element = lanes[lane];
                    if (beta != 0.0f) element += beta * output[lane];
                    if (hasBias) element += bias[column + lane];
                    output[lane] = ACTIVATE(element);
                }
            }
        }
    }
}
