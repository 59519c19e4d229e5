// =================================================================================================
// attention.cl: multi-head scaled dot-product attention over a fused query/key/value product
//
//   y[b][t][h · D + i] = Σ_s p[s] · v[b][s][h][i],   p = softmax_s(scale · q[b][t][h] · k[b][s][h])
//
// with q, k, v read in place from the product of one linear layer, qkv[b][t][part][h][i]
// (part 0 query, 1 key, 2 value; row width 3 · heads · D), and y written token-major
// [b][t][h][i]: no head split before and no head merge after, so a transformer layer's whole
// attention is one launch between its Q/K/V product and its output product. With `causal`,
// token t attends to s ≤ t only (the text tower).
//
// Both kernels keep one query row per work-item and stream the keys once with an online softmax
// (a running maximum m and sum l; the accumulator is rescaled by exp(m_old − m_new) when the
// maximum grows), so no score matrix is stored and every exponent is ≤ 0.
//
//   attention_rows:  one work-item per (query token, head, sequence), keys and values read from
//                    global memory: no local memory and no barriers (CPU drivers: PoCL vectorises
//                    across work-items).
//   attention_tiled: one work-group per (GROUP_SIZE query tokens, head, sequence); the group loads
//                    KEY_TILE keys and values of its head into local memory at a time, and every
//                    work-item reads the same key element at once (a broadcast, no bank conflict)
//                    (GPUs).
//
// Layout: row-major float32. Range: (tokens rounded up to GROUP_SIZE, heads, batch).
// Tunables: HEAD_SIZE (D, required: the private query and accumulator are float[HEAD_SIZE]),
//           GROUP_SIZE (query tokens per work-group, attention_tiled), KEY_TILE (keys per local
//           tile; 2 · KEY_TILE · HEAD_SIZE floats of local memory).
// =================================================================================================

#ifndef HEAD_SIZE
#define HEAD_SIZE 64
#endif
#ifndef GROUP_SIZE
#define GROUP_SIZE 64
#endif
#ifndef KEY_TILE
#define KEY_TILE 32
#endif

__kernel void attention_rows(const int tokens, const int heads, const float scale, const int causal,
                             __global const float* qkv, __global float* y) {
    const int t = get_global_id(0);
    const int h = get_global_id(1);
    const int b = get_global_id(2);
    if (t >= tokens) return;
    const int width = heads * HEAD_SIZE;
    const size_t sequence = (size_t)b * tokens;
    __global const float* queryRow = qkv + (sequence + t) * 3 * width + h * HEAD_SIZE;
    float query[HEAD_SIZE];
    float accumulator[HEAD_SIZE];
    for (int i = 0; i < HEAD_SIZE; ++i) {
        query[i] = scale * queryRow[i];
        accumulator[i] = 0.0f;
    }
    float maximum = -INFINITY, sum = 0.0f;
    const int visible = causal ? t + 1 : tokens;
    for (int s = 0; s < visible; ++s) {
        __global const float* keyRow = qkv + (sequence + s) * 3 * width + width + h * HEAD_SIZE;
        __global const float* valueRow = keyRow + width;
        float score = 0.0f;
        for (int i = 0; i < HEAD_SIZE; ++i) score += query[i] * keyRow[i];
        const float grown = fmax(maximum, score);
        const float rescale = exp(maximum - grown);
        const float weight = exp(score - grown);
        sum = sum * rescale + weight;
        for (int i = 0; i < HEAD_SIZE; ++i) accumulator[i] = accumulator[i] * rescale + weight * valueRow[i];
        maximum = grown;
    }
    __global float* output = y + (sequence + t) * width + h * HEAD_SIZE;
    const float inverse = 1.0f / sum;
    for (int i = 0; i < HEAD_SIZE; ++i) output[i] = accumulator[i] * inverse;
}

__kernel __attribute__((reqd_work_group_size(GROUP_SIZE, 1, 1)))
void attention_tiled(const int tokens, const int heads, const float scale, const int causal,
                     __global const float* qkv, __global float* y) {
    __local float keys[KEY_TILE][HEAD_SIZE];
    __local float values[KEY_TILE][HEAD_SIZE];
    const int member = get_local_id(0);
    const int t = get_global_id(0);
    const int h = get_global_id(1);
    const int b = get_global_id(2);
    const int width = heads * HEAD_SIZE;
    const size_t sequence = (size_t)b * tokens;
    const bool active = t < tokens;
    float query[HEAD_SIZE];
    float accumulator[HEAD_SIZE];
    __global const float* queryRow = qkv + (sequence + (active ? t : 0)) * 3 * width + h * HEAD_SIZE;
    for (int i = 0; i < HEAD_SIZE; ++i) {
        query[i] = scale * queryRow[i];
        accumulator[i] = 0.0f;
    }
    float maximum = -INFINITY, sum = 0.0f;
    const int visible = active ? (causal ? t + 1 : tokens) : 0;
    // The group's last query sees the most keys: tiles past it are not loaded.
    const int groupLast = min((int)(get_group_id(0) + 1) * GROUP_SIZE, tokens) - 1;
    const int groupKeys = causal ? groupLast + 1 : tokens;
    for (int first = 0; first < groupKeys; first += KEY_TILE) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int index = member; index < KEY_TILE * HEAD_SIZE; index += GROUP_SIZE) {
            const int s = first + index / HEAD_SIZE, i = index % HEAD_SIZE;
            const bool inside = s < tokens;
            __global const float* keyRow = qkv + (sequence + (inside ? s : 0)) * 3 * width + width + h * HEAD_SIZE;
            keys[index / HEAD_SIZE][i] = inside ? keyRow[i] : 0.0f;
            values[index / HEAD_SIZE][i] = inside ? keyRow[width + i] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int count = min(KEY_TILE, visible - first);
        for (int s = 0; s < count; ++s) {
            float score = 0.0f;
            for (int i = 0; i < HEAD_SIZE; ++i) score += query[i] * keys[s][i];
            const float grown = fmax(maximum, score);
            const float rescale = exp(maximum - grown);
            const float weight = exp(score - grown);
            sum = sum * rescale + weight;
            for (int i = 0; i < HEAD_SIZE; ++i) accumulator[i] = accumulator[i] * rescale + weight * values[s][i];
            maximum = grown;
        }
    }
    if (!active) return;
    __global float* output = y + (sequence + t) * width + h * HEAD_SIZE;
    const float inverse = 1.0f / sum;
    for (int i = 0; i < HEAD_SIZE; ++i) output[i] = accumulator[i] * inverse;
}
