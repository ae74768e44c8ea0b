// Split of a fused q|k|v projection into contiguous q, k, v, with the rotary embedding (rotate-half, as rope.cu)
// applied to q and k on the way. grid (T, Y): block (t, y) walks heads [y H/Y, (y + 1) H/Y) of token t's Hq + 2 Hk
// heads. Prefill launches Y = 1 (a block per (token, head) of 64 threads was bound by block scheduling, not memory:
// H200, 16,384-token prefill, 786k blocks); decode spreads a token's heads over Y blocks so one block does not walk
// them all.
//
// The store variants (split_qkv_rope_store_*) write k and v straight into a cache layer's rows at slots[t] (bf16, or
// e4m3fn codes of the bf16-rounded values, as reshape_and_cache_fp8 stores them) instead of into k/v tensors, which
// removes reshape_and_cache's launch; a negative slot (padding) writes q only.

__device__ __forceinline__ void put_kv(bf16_t* p, bf16_t v) { *p = v; }
__device__ __forceinline__ void put_kv(unsigned char* p, bf16_t v) { *p = (unsigned char)f32x2_to_e4m3x2(bf2f(v), 0.f); }

// Eight consecutive bf16 as floats, and eight floats stored as bf16 (one 16-byte word) or as e4m3 codes of their
// bf16 roundings (one 8-byte word: the scalar put_kv's rounding, so both paths store the same codes).
__device__ __forceinline__ void load8(const bf16_t* p, float* f)
{
    const uint4 u = *reinterpret_cast<const uint4*>(p);
    const unsigned* w = &u.x;
#pragma unroll
    for (int j = 0; j < 4; j++) { f[2 * j] = bf_lo(w[j]); f[2 * j + 1] = bf_hi(w[j]); }
}
__device__ __forceinline__ void put8(bf16_t* p, const float* f)
{
    uint4 u;
    unsigned* w = &u.x;
#pragma unroll
    for (int j = 0; j < 4; j++) w[j] = pack_bf2(f[2 * j], f[2 * j + 1]);
    *reinterpret_cast<uint4*>(p) = u;
}
__device__ __forceinline__ void put8(unsigned char* p, const float* f)
{
    unsigned w[2];
#pragma unroll
    for (int j = 0; j < 2; j++)
        w[j] = f32x2_to_e4m3x2(bf2f(f2bf(f[4 * j])), bf2f(f2bf(f[4 * j + 1])))
            | (f32x2_to_e4m3x2(bf2f(f2bf(f[4 * j + 2])), bf2f(f2bf(f[4 * j + 3]))) << 16);
    *reinterpret_cast<uint2*>(p) = make_uint2(w[0], w[1]);
}

// The vector path of split_qkv_rope_impl: one item is a 16-byte chunk (eight elements) instead of one element, so a
// decode step's 12 MB move at close to the copy rate (the scalar loop's 2-byte accesses took 12.5 us at batch 512 on
// the H100 against about 4 us by bytes). Needs the head dim, the rotary half and the tail in whole chunks and 16-byte
// aligned rows (8-byte for e4m3 cache rows); the caller checks.
template <typename TTable, typename KV>
__device__ void split_qkv_rope_vec(const bf16_t* __restrict__ srcRow, long long p, long long kvRow, const TTable* __restrict__ cosSin,
                                   bf16_t* __restrict__ qRow, KV* __restrict__ k, KV* __restrict__ v, int hq, int hk,
                                   int headDim, int rot, int h0, int h1)
{
    const int half = rot >> 1, half8 = half >> 3, per8 = (headDim - half) >> 3;
    float a[8], b[8];
    for (int idx = h0 * per8 + threadIdx.x; idx < h1 * per8; idx += blockDim.x)
    {
        const int h = idx / per8, c = idx - h * per8;
        const bf16_t* src = srcRow + h * headDim;
        if (h >= hq + hk)
        {
            // v: chunk c, and for the first half8 chunks also their partner past per8 (all headDim / 8 chunks).
            if (kvRow < 0) continue;
            KV* d = v + (kvRow * hk + (h - hq - hk)) * headDim;
            load8(src + c * 8, a); put8(d + c * 8, a);
            if (c < half8) { load8(src + (c + per8) * 8, a); put8(d + (c + per8) * 8, a); }
            continue;
        }
        if (h >= hq && kvRow < 0) continue;  // padding: no cache row
        auto put = [&](int j, const float* f) {
            if (h < hq) put8(qRow + h * headDim + j, f);
            else put8(k + (kvRow * hk + (h - hq)) * headDim + j, f);
        };
        if (c >= half8) { const int i = c * 8 + half; load8(src + i, a); put(i, a); continue; }  // unrotated tail
        const int i = c * 8;
        load8(src + i, a);
        load8(src + i + half, b);
        float x[8], y[8];
#pragma unroll
        for (int j = 0; j < 8; j++)
        {
            const float cs = table_at(cosSin, p * rot + i + j), sn = table_at(cosSin, p * rot + half + i + j);
            // Rounded to bf16 here as the scalar path does, so the two paths agree bit for bit.
            x[j] = bf2f(f2bf(a[j] * cs - b[j] * sn));
            y[j] = bf2f(f2bf(b[j] * cs + a[j] * sn));
        }
        put(i, x);
        put(i + half, y);
    }
}

template <typename TTable, typename KV>
__device__ void split_qkv_rope_impl(const bf16_t* __restrict__ qkv, const int* __restrict__ positions,
                                    const TTable* __restrict__ cosSin, bf16_t* __restrict__ q, KV* __restrict__ k,
                                    KV* __restrict__ v, const int* __restrict__ slots, int hq, int hk, int headDim, int rot)
{
    const int t = blockIdx.x, heads = hq + 2 * hk, half = rot >> 1;
    const long long p = positions[t];
    // Row of k/v this token writes: its own, or its cache slot in the store variants.
    const long long kvRow = slots != nullptr ? slots[t] : t;
    const bf16_t* srcRow = qkv + (long long)t * heads * headDim;
    const int hpb = (heads + gridDim.y - 1) / gridDim.y, h0 = blockIdx.y * hpb, h1 = min(heads, h0 + hpb);
    const unsigned long long kvAlign = sizeof(KV) == 1 ? 7ull : 15ull;
    if ((headDim & 7) == 0 && (half & 7) == 0 && aligned16(qkv, q)
        && ((reinterpret_cast<unsigned long long>(k) | reinterpret_cast<unsigned long long>(v)) & kvAlign) == 0ull)
    {
        split_qkv_rope_vec(srcRow, p, kvRow, cosSin, q + (long long)t * hq * headDim, k, v, hq, hk, headDim, rot, h0, h1);
        return;
    }
    // Work items: every element of v and the unrotated tail of q/k, plus one item per rotated pair (i, i + half).
    const int perHead = headDim - half;
    for (int idx = h0 * perHead + threadIdx.x; idx < h1 * perHead; idx += blockDim.x)
    {
        const int h = idx / perHead;
        int i = idx - h * perHead;
        const bf16_t* src = srcRow + h * headDim;
        bf16_t* qd = nullptr;
        KV* kvd = nullptr;
        bool rotate = true;
        if (h < hq) qd = q + ((long long)t * hq + h) * headDim;
        else if (kvRow < 0) continue;  // padding: no cache row
        else if (h < hq + hk) kvd = k + (kvRow * hk + (h - hq)) * headDim;
        else { kvd = v + (kvRow * hk + (h - hq - hk)) * headDim; rotate = false; }
        auto put = [&](int j, bf16_t val) { if (qd != nullptr) qd[j] = val; else put_kv(kvd + j, val); };
        if (!rotate)
        {
            // v: items cover headDim - half elements; the first `half` items also copy their partner past them.
            put(i, src[i]);
            if (i < half) put(i + perHead, src[i + perHead]);
            continue;
        }
        if (i >= half) { i += half; put(i, src[i]); continue; }  // the unrotated tail rot .. headDim
        const float c = table_at(cosSin, p * rot + i);
        const float s = table_at(cosSin, p * rot + half + i);
        const float x1 = bf2f(src[i]), x2 = bf2f(src[i + half]);
        put(i, f2bf(x1 * c - x2 * s));
        put(i + half, f2bf(x2 * c + x1 * s));
    }
}

extern "C" __global__ void split_qkv_rope_f32table(const bf16_t* qkv, const int* positions, const float* cosSin,
                                                   bf16_t* q, bf16_t* k, bf16_t* v, int hq, int hk, int headDim, int rot)
{
    split_qkv_rope_impl(qkv, positions, cosSin, q, k, v, (const int*)nullptr, hq, hk, headDim, rot);
}

extern "C" __global__ void split_qkv_rope_bf16table(const bf16_t* qkv, const int* positions, const bf16_t* cosSin,
                                                    bf16_t* q, bf16_t* k, bf16_t* v, int hq, int hk, int headDim, int rot)
{
    split_qkv_rope_impl(qkv, positions, cosSin, q, k, v, (const int*)nullptr, hq, hk, headDim, rot);
}

#define SPLIT_QKV_ROPE_STORE(NAME, TTABLE, KV)                                                                          \
    extern "C" __global__ void NAME(const bf16_t* qkv, const int* positions, const TTABLE* cosSin, bf16_t* q,          \
                                    KV* kc, KV* vc, const int* slots, int hq, int hk, int headDim, int rot)            \
    { split_qkv_rope_impl(qkv, positions, cosSin, q, kc, vc, slots, hq, hk, headDim, rot); }

SPLIT_QKV_ROPE_STORE(split_qkv_rope_store_f32table_bf16, float, bf16_t)
SPLIT_QKV_ROPE_STORE(split_qkv_rope_store_bf16table_bf16, bf16_t, bf16_t)
SPLIT_QKV_ROPE_STORE(split_qkv_rope_store_f32table_fp8, float, unsigned char)
SPLIT_QKV_ROPE_STORE(split_qkv_rope_store_bf16table_fp8, bf16_t, unsigned char)
