// Rotary embedding, rotate-half (NeoX) style, in place on q and k. cosSin row p holds cos in [0, rot/2) and
// sin in [rot/2, rot). One thread per (token, head, pair).

template <typename TTable>
__device__ __forceinline__ float table_at(const TTable* t, long long i);
template <> __device__ __forceinline__ float table_at<float>(const float* t, long long i) { return t[i]; }
template <> __device__ __forceinline__ float table_at<bf16_t>(const bf16_t* t, long long i) { return bf2f(t[i]); }

template <typename TTable>
__device__ void rope_impl(bf16_t* q, bf16_t* k, const int* positions, const TTable* cosSin,
                          int tokens, int hq, int hk, int headDim, int rot)
{
    const int half = rot >> 1;
    const long long total = (long long)tokens * (hq + hk) * half;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x)
    {
        const int i = (int)(idx % half);
        const long long th = idx / half;
        const int h = (int)(th % (hq + hk));
        const int t = (int)(th / (hq + hk));
        bf16_t* base = h < hq ? q + ((long long)t * hq + h) * headDim : k + ((long long)t * hk + (h - hq)) * headDim;
        const long long p = positions[t];
        const float c = table_at(cosSin, p * rot + i);
        const float s = table_at(cosSin, p * rot + half + i);
        const float x1 = bf2f(base[i]), x2 = bf2f(base[i + half]);
        base[i] = f2bf(x1 * c - x2 * s);
        base[i + half] = f2bf(x2 * c + x1 * s);
    }
}

extern "C" __global__ void rope_bf16_f32table(bf16_t* q, bf16_t* k, const int* positions, const float* cosSin,
                                              int tokens, int hq, int hk, int headDim, int rot)
{
    rope_impl(q, k, positions, cosSin, tokens, hq, hk, headDim, rot);
}

extern "C" __global__ void rope_bf16_bf16table(bf16_t* q, bf16_t* k, const int* positions, const bf16_t* cosSin,
                                               int tokens, int hq, int hk, int headDim, int rot)
{
    rope_impl(q, k, positions, cosSin, tokens, hq, hk, headDim, rot);
}
