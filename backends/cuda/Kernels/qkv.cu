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
