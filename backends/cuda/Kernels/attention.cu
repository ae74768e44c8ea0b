// Paged attention over a flattened step of mixed prefill and decode tokens.
// Cache layout per layer: [slot, kvHead, headDim] with slot = block * blockSize + offset.

#define ATT_WARPS 4
#define ATT_MAX_DPL 8   // head dims up to 32 * 8 = 256

// k/v [T, Hk*D] -> cache rows at slots[t]; negative slots (padding) are skipped.
extern "C" __global__ void reshape_and_cache_bf16(const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                                  const int* __restrict__ slots, bf16_t* __restrict__ kc,
                                                  bf16_t* __restrict__ vc, int rowElems)
{
    const int t = blockIdx.x;
    const int slot = slots[t];
    if (slot < 0) return;
    const bf16_t* ks = k + (long long)t * rowElems;
    const bf16_t* vs = v + (long long)t * rowElems;
    bf16_t* kd = kc + (long long)slot * rowElems;
    bf16_t* vd = vc + (long long)slot * rowElems;
    for (int i = threadIdx.x; i < rowElems; i += blockDim.x) { kd[i] = ks[i]; vd[i] = vs[i]; }
}

// grid (T, Hq, splits), ATT_WARPS warps. Query row t of sequence s sits at position
// pos = seqLen - queryLen + (t - queryStart) and sees keys (max(0, pos - window + 1) .. pos], causal.
// The visible range is cut into `splits` chunks of `chunk` keys; with one split the block writes the output,
// otherwise it writes its unnormalized partial (max, sum, acc) for paged_attention_combine.
// Each warp runs an online softmax over every ATT_WARPS-th key of the chunk; the warps merge at the end.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
paged_attention_bf16(const bf16_t* __restrict__ q, const bf16_t* __restrict__ kc, const bf16_t* __restrict__ vc,
                     bf16_t* __restrict__ out, const int* __restrict__ tokenSeq, const int* __restrict__ qStart,
                     const int* __restrict__ seqLens, const int* __restrict__ blockTables, int maxBlocks,
                     int blockSize, int hq, int hk, int headDim, float scale, int window, int splits, int chunk,
                     float* __restrict__ partM, float* __restrict__ partL, float* __restrict__ partAcc)
{
    const int t = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int s = tokenSeq[t];
    const int q0 = qStart[s], qLen = qStart[s + 1] - q0;
    const int pos = seqLens[s] - qLen + (t - q0);
    const int lo = window > 0 ? max(0, pos - window + 1) : 0;
    const int kBegin = lo + split * chunk;
    const int kEnd = min(pos + 1, kBegin + chunk);
    const int kvh = h / (hq / hk);
    const bf16_t* qr = q + ((long long)t * hq + h) * headDim;

    float qv[ATT_MAX_DPL], acc[ATT_MAX_DPL];
#pragma unroll
    for (int i = 0; i < ATT_MAX_DPL; i++)
    {
        const int d = lane + 32 * i;
        qv[i] = d < headDim ? bf2f(qr[d]) * scale : 0.f;
        acc[i] = 0.f;
    }
    float m = NEG_INF, l = 0.f;
    const int* bt = blockTables + (long long)s * maxBlocks;
    const long long rowStride = (long long)hk * headDim;
    for (int j = kBegin + warp; j < kEnd; j += ATT_WARPS)
    {
        const long long slot = (long long)bt[j / blockSize] * blockSize + j % blockSize;
        const bf16_t* kr = kc + slot * rowStride + (long long)kvh * headDim;
        const bf16_t* vr = vc + slot * rowStride + (long long)kvh * headDim;
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < ATT_MAX_DPL; i++)
        {
            const int d = lane + 32 * i;
            if (d < headDim) dot += qv[i] * bf2f(kr[d]);
        }
        dot = warp_sum(dot);
        const float mNew = fmaxf(m, dot);
        const float corr = expf(m - mNew);
        const float p = expf(dot - mNew);
        l = l * corr + p;
#pragma unroll
        for (int i = 0; i < ATT_MAX_DPL; i++)
        {
            const int d = lane + 32 * i;
            if (d < headDim) acc[i] = acc[i] * corr + p * bf2f(vr[d]);
        }
        m = mNew;
    }

    __shared__ float sm[ATT_WARPS], sl[ATT_WARPS];
    __shared__ float sacc[ATT_WARPS][32 * ATT_MAX_DPL];
    if (lane == 0) { sm[warp] = m; sl[warp] = l; }
#pragma unroll
    for (int i = 0; i < ATT_MAX_DPL; i++) sacc[warp][lane + 32 * i] = acc[i];
    __syncthreads();
    if (warp != 0) return;

    float M = NEG_INF;
    for (int w = 0; w < ATT_WARPS; w++) M = fmaxf(M, sm[w]);
    float f[ATT_WARPS];
    float L = 0.f;
    for (int w = 0; w < ATT_WARPS; w++)
    {
        f[w] = sm[w] == NEG_INF ? 0.f : expf(sm[w] - M);
        L += sl[w] * f[w];
    }
    const long long row = (long long)t * hq + h;
    for (int d = lane; d < headDim; d += 32)
    {
        float a = 0.f;
        for (int w = 0; w < ATT_WARPS; w++) a += sacc[w][d] * f[w];
        if (splits == 1) out[row * headDim + d] = f2bf(L > 0.f ? a / L : 0.f);
        else partAcc[(row * splits + split) * headDim + d] = a;
    }
    if (splits > 1 && lane == 0)
    {
        partM[row * splits + split] = M;
        partL[row * splits + split] = L;
    }
}

// grid (T, Hq): merges the split partials of one query row and head.
extern "C" __global__ void paged_attention_combine_bf16(const float* __restrict__ partM, const float* __restrict__ partL,
                                                        const float* __restrict__ partAcc, bf16_t* __restrict__ out,
                                                        int hq, int headDim, int splits)
{
    const long long row = (long long)blockIdx.x * hq + blockIdx.y;
    const float* pm = partM + row * splits;
    const float* pl = partL + row * splits;
    float M = NEG_INF;
    for (int s = 0; s < splits; s++) M = fmaxf(M, pm[s]);
    float L = 0.f;
    for (int s = 0; s < splits; s++) L += pm[s] == NEG_INF ? 0.f : pl[s] * expf(pm[s] - M);
    for (int d = threadIdx.x; d < headDim; d += blockDim.x)
    {
        float a = 0.f;
        for (int s = 0; s < splits; s++)
            if (pm[s] != NEG_INF) a += partAcc[(row * splits + s) * headDim + d] * expf(pm[s] - M);
        out[row * headDim + d] = f2bf(L > 0.f ? a / L : 0.f);
    }
}
