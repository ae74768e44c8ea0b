// Split of a fused q|k|v projection into contiguous q, k, v, with the rotary embedding (rotate-half, as rope.cu)
// applied to q and k on the way. grid (T), one block per token walking all Hq + 2 Hk heads: a block per (token,
// head) of 64 threads was bound by block scheduling, not memory (H200, 16,384-token prefill: 786k blocks).

template <typename TTable>
__device__ void split_qkv_rope_impl(const bf16_t* __restrict__ qkv, const int* __restrict__ positions,
                                    const TTable* __restrict__ cosSin, bf16_t* __restrict__ q, bf16_t* __restrict__ k,
                                    bf16_t* __restrict__ v, int hq, int hk, int headDim, int rot)
{
    const int t = blockIdx.x, heads = hq + 2 * hk, half = rot >> 1;
    const long long p = positions[t];
    const bf16_t* srcRow = qkv + (long long)t * heads * headDim;
    // Work items: every element of v and the unrotated tail of q/k, plus one item per rotated pair (i, i + half).
    const int perHead = headDim - half;
    for (int idx = threadIdx.x; idx < heads * perHead; idx += blockDim.x)
    {
        const int h = idx / perHead;
        int i = idx - h * perHead;
        const bf16_t* src = srcRow + h * headDim;
        bf16_t* dst;
        bool rotate = true;
        if (h < hq) dst = q + ((long long)t * hq + h) * headDim;
        else if (h < hq + hk) dst = k + ((long long)t * hk + (h - hq)) * headDim;
        else { dst = v + ((long long)t * hk + (h - hq - hk)) * headDim; rotate = false; }
        if (!rotate)
        {
            // v: items cover headDim - half elements; the first `half` items also copy their partner past them.
            dst[i] = src[i];
            if (i < half) dst[i + perHead] = src[i + perHead];
            continue;
        }
        if (i >= half) { i += half; dst[i] = src[i]; continue; }  // the unrotated tail rot .. headDim
        const float c = table_at(cosSin, p * rot + i);
        const float s = table_at(cosSin, p * rot + half + i);
        const float x1 = bf2f(src[i]), x2 = bf2f(src[i + half]);
        dst[i] = f2bf(x1 * c - x2 * s);
        dst[i + half] = f2bf(x2 * c + x1 * s);
    }
}

extern "C" __global__ void split_qkv_rope_f32table(const bf16_t* qkv, const int* positions, const float* cosSin,
                                                   bf16_t* q, bf16_t* k, bf16_t* v, int hq, int hk, int headDim, int rot)
{
    split_qkv_rope_impl(qkv, positions, cosSin, q, k, v, hq, hk, headDim, rot);
}

extern "C" __global__ void split_qkv_rope_bf16table(const bf16_t* qkv, const int* positions, const bf16_t* cosSin,
                                                    bf16_t* q, bf16_t* k, bf16_t* v, int hq, int hk, int headDim, int rot)
{
    split_qkv_rope_impl(qkv, positions, cosSin, q, k, v, hq, hk, headDim, rot);
}
