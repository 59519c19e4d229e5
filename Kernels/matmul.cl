// =================================================================================================
// matmul.cl: batched matrix product
//
//   C = alpha · op(A) · op(B) + beta · C  (+ bias, broadcast over rows)
//
// Layout: row-major float32. For batch b (global dimension 2):
//   A_b = A + b · strideA, B_b = B + b · strideB (a stride of 0 shares the matrix), C_b = C + b · M · N
//   op(A) is M × K, stored [M][K], or [K][M] when TRANSPOSE_A is 1
//   op(B) is K × N, stored [K][N], or [N][K] when TRANSPOSE_B is 1
//   bias is [N] when hasBias is non-zero. With beta == 0, C is not read (NaN-poisoned C is fine).
//
// Two variants; the host picks one per device (neither needs M, N or K to be multiples of a tile):
//
// matmul_tiled (GPUs): a work-group of (TILE_N / WORK_N) × (TILE_M / WORK_M) work-items computes a
//   TILE_M × TILE_N block of C. Per step of TILE_K along K, the group stages an A tile and a B tile in
//   local memory (zero-padded at the edges), then every work-item accumulates WORK_M × WORK_N
//   outputs in registers, spaced by the work-group size so that neighbouring work-items read
//   neighbouring local-memory words. Global traffic drops by TILE_M (for B) and TILE_N (for A).
//
// matmul_direct (CPU devices such as PoCL): no local memory and no barriers, which CPU drivers
//   emulate with loops and spills. Each work-item owns WORK_M rows and WORK_N columns spaced by the
//   global width, so that consecutive work-items read consecutive words of B and a driver that
//   vectorises across work-items (PoCL does) turns every B load into one vector load, while the
//   A element is a scalar broadcast. Only the untransposed layout: the host transposes op(A) and
//   op(B) into scratch buffers first when needed (O(K · (M + N)) work next to O(M · N · K)).
//
// Tunables (-D): TILE_M, TILE_N, TILE_K, WORK_M, WORK_N; TRANSPOSE_A, TRANSPOSE_B.
// =================================================================================================

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
#ifndef TRANSPOSE_A
#define TRANSPOSE_A 0
#endif
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
    A += batch * strideA;
    B += batch * strideB;
    C += batch * M * N;

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
            C[row * N + column] = value;
        }
    }
}

// Global size: (ceil(N / WORK_N), ceil(M / WORK_M), batch). Work-item (x, y) owns rows
// y·WORK_M + wm and columns x + wn · get_global_size(0).
__kernel void matmul_direct(const int M, const int N, const int K, const int strideA, const int strideB,
                            const float alpha, const float beta, const int hasBias,
                            __global const float* restrict A, __global const float* restrict B,
                            __global const float* restrict bias, __global float* restrict C) {
    const int batch = get_global_id(2);
    A += batch * strideA;
    B += batch * strideB;
    C += batch * M * N;

    const int columnStep = get_global_size(0);
    const int firstColumn = get_global_id(0);
    const int firstRow = get_global_id(1) * WORK_M;

    // Rows and columns past the edge are clamped for loading and skipped when storing.
    int rows[WORK_M], columns[WORK_N];
    for (int wm = 0; wm < WORK_M; ++wm) rows[wm] = min(firstRow + wm, M - 1);
    for (int wn = 0; wn < WORK_N; ++wn) columns[wn] = min(firstColumn + wn * columnStep, N - 1);

    float accumulator[WORK_M][WORK_N];
    for (int wm = 0; wm < WORK_M; ++wm)
        for (int wn = 0; wn < WORK_N; ++wn) accumulator[wm][wn] = 0.0f;

    for (int inner = 0; inner < K; ++inner) {
        float valuesB[WORK_N];
        for (int wn = 0; wn < WORK_N; ++wn) valuesB[wn] = B[inner * N + columns[wn]];
        for (int wm = 0; wm < WORK_M; ++wm) {
            const float valueA = A[rows[wm] * K + inner];
            for (int wn = 0; wn < WORK_N; ++wn)
                accumulator[wm][wn] = fma(valueA, valuesB[wn], accumulator[wm][wn]);
        }
    }

    for (int wm = 0; wm < WORK_M; ++wm) {
        const int row = firstRow + wm;
        if (row >= M) break;
        for (int wn = 0; wn < WORK_N; ++wn) {
            const int column = firstColumn + wn * columnStep;
            if (column >= N) break;
            float value = alpha * accumulator[wm][wn];
            if (beta != 0.0f) value += beta * C[row * N + column];
            if (hasBias) value += bias[column];
            C[row * N + column] = value;
        }
    }
}
