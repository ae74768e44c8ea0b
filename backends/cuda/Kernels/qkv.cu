// Split of a fused q|k|v projection into contiguous q, k, v, with the rotary embedding (rotate-half, as rope.cu)
// applied to q and k on the way. grid (T, Hq + 2 Hk), block of headDim/2 threads (rounded up to a warp).

template <typename TTable>
__device__ void split_qkv_rope_impl(const bf16_t* __restrict__ qkv, const int* __restrict__ positions,
                                    const TTable* __restrict__ cosSin, bf16_t* __restrict__ q, bf16_t* __restrict__ k,
                                    bf16_t* __restrict__ v, int hq, int hk, int headDim, int rot)
{
    const int t = blockIdx.x, h = blockIdx.y;
    const bf16_t* src = qkv + ((long long)t * (hq + 2 * hk) + h) * headDim;
    bf16_t* dst;
    bool rotate = true;
    if (h < hq) dst = q + ((long long)t * hq + h) * headDim;
    else if (h < hq + hk) dst = k + ((long long)t * hk + (h - hq)) * headDim;
    else { dst = v + ((long long)t * hk + (h - hq - hk)) * headDim; rotate = false; }
    const int half = rot >> 1;
    const long long p = positions[t];
    for (int i = threadIdx.x; i < headDim; i += blockDim.x)
    {
        if (!rotate || i >= rot) { dst[i] = src[i]; continue; }
        if (i >= half) continue;  // written together with its pair below
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
