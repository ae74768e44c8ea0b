// Paged attention over a flattened step of mixed prefill and decode tokens.
// Cache layout per layer: [slot, kvHead, headDim] with slot = block * blockSize + offset.

#define ATT_WARPS 4
#define ATT_MAX_DPL 8   // head dims up to 32 * 8 = 256

// The keys query row t sees in split `split` of its range: [kBegin, kEnd) of sequence `seq`. The row sits at
// position pos = seqLen - queryLen + (t - queryStart) and sees (max(0, pos - window + 1) .. pos], causal; split i
// takes `chunk` keys from the start of that range. Shared by every paged attention kernel of a mixed step.
struct RowKeys { int seq, kBegin, kEnd; };

__device__ __forceinline__ RowKeys row_keys(int t, int split, int chunk, int window, const int* __restrict__ tokenSeq,
                                            const int* __restrict__ qStart, const int* __restrict__ seqLens)
{
    RowKeys r;
    r.seq = tokenSeq[t];
    const int q0 = qStart[r.seq], qLen = qStart[r.seq + 1] - q0;
    const int pos = seqLens[r.seq] - qLen + (t - q0);
    const int lo = window > 0 ? max(0, pos - window + 1) : 0;
    r.kBegin = lo + split * chunk;
    r.kEnd = min(pos + 1, r.kBegin + chunk);
    return r;
}

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

// The same for an FP8 e4m3fn cache (per-tensor scale 1, as vLLM without calibrated scales): each value is rounded to
// nearest even and saturated to +-448 (f32x2_to_e4m3x2). Two elements per thread step (rowElems is even).
extern "C" __global__ void reshape_and_cache_fp8(const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                                 const int* __restrict__ slots, unsigned char* __restrict__ kc,
                                                 unsigned char* __restrict__ vc, int rowElems)
{
    const int t = blockIdx.x;
    const int slot = slots[t];
    if (slot < 0) return;
    const unsigned* ks = reinterpret_cast<const unsigned*>(k + (long long)t * rowElems);
    const unsigned* vs = reinterpret_cast<const unsigned*>(v + (long long)t * rowElems);
    unsigned short* kd = reinterpret_cast<unsigned short*>(kc + (long long)slot * rowElems);
    unsigned short* vd = reinterpret_cast<unsigned short*>(vc + (long long)slot * rowElems);
    for (int i = threadIdx.x; i < rowElems / 2; i += blockDim.x)
    {
        const unsigned kw = ks[i], vw = vs[i];
        kd[i] = (unsigned short)f32x2_to_e4m3x2(bf_lo(kw), bf_hi(kw));
        vd[i] = (unsigned short)f32x2_to_e4m3x2(bf_lo(vw), bf_hi(vw));
    }
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
    const RowKeys rk = row_keys(t, split, chunk, window, tokenSeq, qStart, seqLens);
    const int s = rk.seq, kBegin = rk.kBegin, kEnd = rk.kEnd;
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

// grid (rows, Hq): merges the split partials of one query row and head; rowMap (optional) names the step's rows the
// decode launch served (paged_decode_tc's row map), else rows are the step's rows in order.
extern "C" __global__ void paged_attention_combine_bf16(const float* __restrict__ partM, const float* __restrict__ partL,
                                                        const float* __restrict__ partAcc, bf16_t* __restrict__ out,
                                                        int hq, int headDim, int splits, const int* __restrict__ rowMap)
{
    const long long row = (long long)(rowMap ? rowMap[blockIdx.x] : blockIdx.x) * hq + blockIdx.y;
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

// ---- Grouped variant for head dims 64/128/256 ----
// Eight lanes share one key: each holds HD/8 contiguous elements of q and of its V accumulator and reads K/V with
// 16-byte loads, so a warp has four keys in flight instead of one and a dot product needs three shuffles instead
// of five. Sixteen independent online-softmax streams per block are merged through shared memory at the end.
// Same arguments and semantics as paged_attention_bf16 (splits and partials included).

#define GRP_LANES 8
#define GRP_STREAMS (ATT_WARPS * 32 / GRP_LANES)

__device__ __forceinline__ void unpack8(const uint4 w, float* f)
{
    f[0] = __uint_as_float(w.x << 16); f[1] = __uint_as_float(w.x & 0xffff0000u);
    f[2] = __uint_as_float(w.y << 16); f[3] = __uint_as_float(w.y & 0xffff0000u);
    f[4] = __uint_as_float(w.z << 16); f[5] = __uint_as_float(w.z & 0xffff0000u);
    f[6] = __uint_as_float(w.w << 16); f[7] = __uint_as_float(w.w & 0xffff0000u);
}

template <int HD>
__device__ void paged_attention_grouped(const bf16_t* __restrict__ q, const bf16_t* __restrict__ kc,
    const bf16_t* __restrict__ vc, bf16_t* __restrict__ out, const int* __restrict__ tokenSeq,
    const int* __restrict__ qStart, const int* __restrict__ seqLens, const int* __restrict__ blockTables,
    int maxBlocks, int blockSize, int hq, int hk, float scale, int window, int splits, int chunk,
    float* __restrict__ partM, float* __restrict__ partL, float* __restrict__ partAcc)
{
    constexpr int EPL = HD / GRP_LANES;   // elements per lane: 8, 16 or 32
    constexpr int VEC = EPL / 8;          // 16-byte loads per lane per row
    const int t = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int grp = lane / GRP_LANES, gl = lane % GRP_LANES;
    const int stream = warp * (32 / GRP_LANES) + grp;
    const RowKeys rk = row_keys(t, split, chunk, window, tokenSeq, qStart, seqLens);
    const int s = rk.seq, kBegin = rk.kBegin, kEnd = rk.kEnd;
    const int kvh = h / (hq / hk);

    float qv[EPL], acc[EPL], tmp[8];
    const uint4* qp = reinterpret_cast<const uint4*>(q + ((long long)t * hq + h) * HD + gl * EPL);
#pragma unroll
    for (int v = 0; v < VEC; v++)
    {
        unpack8(qp[v], tmp);
#pragma unroll
        for (int e = 0; e < 8; e++) { qv[v * 8 + e] = tmp[e] * scale; acc[v * 8 + e] = 0.f; }
    }
    float m = NEG_INF, l = 0.f;
    const int* bt = blockTables + (long long)s * maxBlocks;
    const long long rowStride = (long long)hk * HD;
    const long long headOffset = (long long)kvh * HD + gl * EPL;
    // Whole warps iterate together (the shuffles need every lane); a group past the end just skips its update.
    // K and V of a key are loaded together and the next key's slot is looked up before this one is used, so each
    // iteration waits on memory once instead of three times (block table, K, V).
    int j = kBegin + warp * (32 / GRP_LANES) + grp;
    long long slot = j < kEnd ? (long long)bt[j / blockSize] * blockSize + j % blockSize : 0;
    for (int base = kBegin + warp * (32 / GRP_LANES); base < kEnd; base += GRP_STREAMS)
    {
        const bool valid = j < kEnd;
        uint4 kw[VEC], vw[VEC];
        if (valid)
        {
            const uint4* kp = reinterpret_cast<const uint4*>(kc + slot * rowStride + headOffset);
            const uint4* vp = reinterpret_cast<const uint4*>(vc + slot * rowStride + headOffset);
#pragma unroll
            for (int v = 0; v < VEC; v++) { kw[v] = kp[v]; vw[v] = vp[v]; }
        }
        const int jn = j + GRP_STREAMS;
        const long long slotNext = jn < kEnd ? (long long)bt[jn / blockSize] * blockSize + jn % blockSize : 0;
        float dot = 0.f;
        if (valid)
        {
#pragma unroll
            for (int v = 0; v < VEC; v++)
            {
                unpack8(kw[v], tmp);
#pragma unroll
                for (int e = 0; e < 8; e++) dot += qv[v * 8 + e] * tmp[e];
            }
        }
        dot += __shfl_xor_sync(0xffffffffu, dot, 4);
        dot += __shfl_xor_sync(0xffffffffu, dot, 2);
        dot += __shfl_xor_sync(0xffffffffu, dot, 1);
        if (valid)
        {
            const float mNew = fmaxf(m, dot);
            const float corr = expf(m - mNew);
            const float p = expf(dot - mNew);
            l = l * corr + p;
#pragma unroll
            for (int v = 0; v < VEC; v++)
            {
                unpack8(vw[v], tmp);
#pragma unroll
                for (int e = 0; e < 8; e++) acc[v * 8 + e] = acc[v * 8 + e] * corr + p * tmp[e];
            }
            m = mNew;
        }
        j = jn;
        slot = slotNext;
    }

    __shared__ float sm[GRP_STREAMS], sl[GRP_STREAMS];
    __shared__ float sacc[GRP_STREAMS][HD];
    if (gl == 0) { sm[stream] = m; sl[stream] = l; }
#pragma unroll
    for (int e = 0; e < EPL; e++) sacc[stream][gl * EPL + e] = acc[e];
    __syncthreads();

    float M = NEG_INF;
    for (int g = 0; g < GRP_STREAMS; g++) M = fmaxf(M, sm[g]);
    float L = 0.f;
    for (int g = 0; g < GRP_STREAMS; g++) L += sm[g] == NEG_INF ? 0.f : sl[g] * expf(sm[g] - M);
    const long long row = (long long)t * hq + h;
    for (int d = threadIdx.x; d < HD; d += blockDim.x)
    {
        float a = 0.f;
        for (int g = 0; g < GRP_STREAMS; g++)
            if (sm[g] != NEG_INF) a += sacc[g][d] * expf(sm[g] - M);
        if (splits == 1) out[row * HD + d] = f2bf(L > 0.f ? a / L : 0.f);
        else partAcc[(row * splits + split) * HD + d] = a;
    }
    if (splits > 1 && threadIdx.x == 0)
    {
        partM[row * splits + split] = M;
        partL[row * splits + split] = L;
    }
}

#define GROUPED_ATTENTION(HD)                                                                                    \
    extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32) paged_attention_grouped_##HD(                 \
        const bf16_t* q, const bf16_t* kc, const bf16_t* vc, bf16_t* out, const int* tokenSeq, const int* qStart, \
        const int* seqLens, const int* blockTables, int maxBlocks, int blockSize, int hq, int hk, int headDim,     \
        float scale, int window, int splits, int chunk, float* partM, float* partL, float* partAcc)               \
    {                                                                                                            \
        paged_attention_grouped<HD>(q, kc, vc, out, tokenSeq, qStart, seqLens, blockTables, maxBlocks, blockSize, \
                                    hq, hk, scale, window, splits, chunk, partM, partL, partAcc);                \
    }

GROUPED_ATTENTION(64)
GROUPED_ATTENTION(128)
GROUPED_ATTENTION(256)

// ---- GQA-shared variant: one block per (token, KV head) ----
// All G query heads of a KV head are handled by the same block, so each K/V row is read from memory once per group
// instead of once per query head. Sixteen lanes share a key (HD/16 elements each); 8 streams per block.
// Launched only where G * HD / 16 <= 64 so the per-head q and accumulator registers stay unspilled.

#define GQA_LANES 16
#define GQA_STREAMS (ATT_WARPS * 32 / GQA_LANES)

template <int N> __device__ __forceinline__ void load_bf16(const bf16_t* p, float* f);
template <> __device__ __forceinline__ void load_bf16<4>(const bf16_t* p, float* f)
{
    const uint2 w = *reinterpret_cast<const uint2*>(p);
    f[0] = __uint_as_float(w.x << 16); f[1] = __uint_as_float(w.x & 0xffff0000u);
    f[2] = __uint_as_float(w.y << 16); f[3] = __uint_as_float(w.y & 0xffff0000u);
}
template <> __device__ __forceinline__ void load_bf16<8>(const bf16_t* p, float* f)
{
    unpack8(*reinterpret_cast<const uint4*>(p), f);
}
template <> __device__ __forceinline__ void load_bf16<16>(const bf16_t* p, float* f)
{
    unpack8(reinterpret_cast<const uint4*>(p)[0], f);
    unpack8(reinterpret_cast<const uint4*>(p)[1], f + 8);
}

// Each 16-lane stream issues the K/V loads of GQA_UNROLL keys (and the block-table lookups of the next GQA_UNROLL)
// before using any of them: with one key per stream per iteration, large decode batches were bound by the latency of
// one 512-byte K+V row in flight per stream (H200, W2: 7,864 vs 7,694 tok/s with four). Keys past the end read slot 0
// (always allocated) and are masked.

#define GQA_UNROLL 4

template <int EPL> struct RawRow { uint4 w[EPL / 8]; };
template <> struct RawRow<4> { uint2 w[1]; };

template <int EPL> __device__ __forceinline__ void raw_load(const bf16_t* p, RawRow<EPL>& r)
{
#pragma unroll
    for (int v = 0; v < EPL / 8; v++) r.w[v] = reinterpret_cast<const uint4*>(p)[v];
}
template <> __device__ __forceinline__ void raw_load<4>(const bf16_t* p, RawRow<4>& r)
{
    r.w[0] = *reinterpret_cast<const uint2*>(p);
}
template <int EPL> __device__ __forceinline__ void raw_unpack(const RawRow<EPL>& r, float* f)
{
#pragma unroll
    for (int v = 0; v < EPL / 8; v++) unpack8(r.w[v], f + 8 * v);
}
template <> __device__ __forceinline__ void raw_unpack<4>(const RawRow<4>& r, float* f)
{
    f[0] = __uint_as_float(r.w[0].x << 16); f[1] = __uint_as_float(r.w[0].x & 0xffff0000u);
    f[2] = __uint_as_float(r.w[0].y << 16); f[3] = __uint_as_float(r.w[0].y & 0xffff0000u);
}

template <int HD, int G>
__device__ void paged_attention_gqa(const bf16_t* __restrict__ q, const bf16_t* __restrict__ kc,
    const bf16_t* __restrict__ vc, bf16_t* __restrict__ out, const int* __restrict__ tokenSeq,
    const int* __restrict__ qStart, const int* __restrict__ seqLens, const int* __restrict__ blockTables,
    int maxBlocks, int blockSize, int hq, int hk, float scale, int window, int splits, int chunk,
    float* __restrict__ partM, float* __restrict__ partL, float* __restrict__ partAcc)
{
    constexpr int EPL = HD / GQA_LANES;
    constexpr int STEP = GQA_STREAMS * GQA_UNROLL;
    const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int grp = lane / GQA_LANES, gl = lane % GQA_LANES;
    const int stream = warp * (32 / GQA_LANES) + grp;
    const RowKeys rk = row_keys(t, split, chunk, window, tokenSeq, qStart, seqLens);
    const int s = rk.seq, kBegin = rk.kBegin, kEnd = rk.kEnd;
    const int h0 = kvh * G;

    float qv[G][EPL], acc[G][EPL], m[G], l[G];
#pragma unroll
    for (int g = 0; g < G; g++)
    {
        load_bf16<EPL>(q + ((long long)t * hq + h0 + g) * HD + gl * EPL, qv[g]);
#pragma unroll
        for (int e = 0; e < EPL; e++) { qv[g][e] *= scale; acc[g][e] = 0.f; }
        m[g] = NEG_INF;
        l[g] = 0.f;
    }
    const int* bt = blockTables + (long long)s * maxBlocks;
    const long long rowStride = (long long)hk * HD;
    const long long headOffset = (long long)kvh * HD + gl * EPL;

    // Key u of an iteration starting at `base` is base + stream + u * GQA_STREAMS; slots of the next iteration are
    // looked up while this one computes.
    long long slot[GQA_UNROLL];
#pragma unroll
    for (int u = 0; u < GQA_UNROLL; u++)
    {
        const int j = kBegin + stream + u * GQA_STREAMS;
        slot[u] = j < kEnd ? (long long)bt[j / blockSize] * blockSize + j % blockSize : 0;
    }
    for (int base = kBegin; base < kEnd; base += STEP)
    {
        RawRow<EPL> kr[GQA_UNROLL], vr[GQA_UNROLL];
#pragma unroll
        for (int u = 0; u < GQA_UNROLL; u++)
        {
            raw_load<EPL>(kc + slot[u] * rowStride + headOffset, kr[u]);
            raw_load<EPL>(vc + slot[u] * rowStride + headOffset, vr[u]);
        }
#pragma unroll
        for (int u = 0; u < GQA_UNROLL; u++)
        {
            const int jn = base + STEP + stream + u * GQA_STREAMS;
            slot[u] = jn < kEnd ? (long long)bt[jn / blockSize] * blockSize + jn % blockSize : 0;
        }
#pragma unroll
        for (int u = 0; u < GQA_UNROLL; u++)
        {
            const bool valid = base + stream + u * GQA_STREAMS < kEnd;
            float kf[EPL], vf[EPL];
            raw_unpack<EPL>(kr[u], kf);
            raw_unpack<EPL>(vr[u], vf);
            float dot[G];
#pragma unroll
            for (int g = 0; g < G; g++)
            {
                float d = 0.f;
#pragma unroll
                for (int e = 0; e < EPL; e++) d += qv[g][e] * kf[e];
                d += __shfl_xor_sync(0xffffffffu, d, 8);
                d += __shfl_xor_sync(0xffffffffu, d, 4);
                d += __shfl_xor_sync(0xffffffffu, d, 2);
                d += __shfl_xor_sync(0xffffffffu, d, 1);
                dot[g] = d;
            }
            if (valid)
            {
#pragma unroll
                for (int g = 0; g < G; g++)
                {
                    const float mNew = fmaxf(m[g], dot[g]);
                    const float corr = expf(m[g] - mNew);
                    const float p = expf(dot[g] - mNew);
                    l[g] = l[g] * corr + p;
#pragma unroll
                    for (int e = 0; e < EPL; e++) acc[g][e] = acc[g][e] * corr + p * vf[e];
                    m[g] = mNew;
                }
            }
        }
    }

    __shared__ float sm[GQA_STREAMS][G], sl[GQA_STREAMS][G];
    __shared__ float sacc[GQA_STREAMS][G][HD];
#pragma unroll
    for (int g = 0; g < G; g++)
    {
        if (gl == 0) { sm[stream][g] = m[g]; sl[stream][g] = l[g]; }
#pragma unroll
        for (int e = 0; e < EPL; e++) sacc[stream][g][gl * EPL + e] = acc[g][e];
    }
    __syncthreads();

    for (int idx = threadIdx.x; idx < G * HD; idx += blockDim.x)
    {
        const int g = idx / HD, d = idx % HD;
        float M = NEG_INF;
        for (int st = 0; st < GQA_STREAMS; st++) M = fmaxf(M, sm[st][g]);
        float L = 0.f, a = 0.f;
        for (int st = 0; st < GQA_STREAMS; st++)
        {
            if (sm[st][g] == NEG_INF) continue;
            const float f = expf(sm[st][g] - M);
            L += sl[st][g] * f;
            a += sacc[st][g][d] * f;
        }
        const long long row = (long long)t * hq + h0 + g;
        if (splits == 1) out[row * HD + d] = f2bf(L > 0.f ? a / L : 0.f);
        else
        {
            partAcc[(row * splits + split) * HD + d] = a;
            if (d == 0) { partM[row * splits + split] = M; partL[row * splits + split] = L; }
        }
    }
}

#define GQA_ATTENTION(HD, G)                                                                                     \
    extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32) paged_attention_gqa_##HD##_##G(               \
        const bf16_t* q, const bf16_t* kc, const bf16_t* vc, bf16_t* out, const int* tokenSeq, const int* qStart, \
        const int* seqLens, const int* blockTables, int maxBlocks, int blockSize, int hq, int hk, int headDim,     \
        float scale, int window, int splits, int chunk, float* partM, float* partL, float* partAcc)               \
    {                                                                                                            \
        paged_attention_gqa<HD, G>(q, kc, vc, out, tokenSeq, qStart, seqLens, blockTables, maxBlocks,            \
                                            blockSize, hq, hk, scale, window, splits, chunk, partM, partL, partAcc); \
    }

GQA_ATTENTION(64, 2)
GQA_ATTENTION(64, 4)
GQA_ATTENTION(64, 8)
GQA_ATTENTION(128, 2)
GQA_ATTENTION(128, 4)
GQA_ATTENTION(128, 8)
GQA_ATTENTION(256, 2)
GQA_ATTENTION(256, 4)
