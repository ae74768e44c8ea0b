// Random sampling on the device, in the order of the host sampler (core/Modular.Sampling/ProbabilitySampler.cs):
// temperature, min-p and top-k as one probability floor, top-p over what is left, then one inverse-CDF draw in
// token-id order with a uniform number the host drew from the sequence's own stream. Rows with temperature ~ 0
// take the argmax (lowest id on ties). Compiled as its own module (see Runtime/SamplingKernels.cs).
//
// One 1024-thread block per row. Probabilities are never stored: p_i = exp((x_i - max) / T) is recomputed in each
// pass (the top token has exactly 1, so min-p is a plain threshold). Selections (the k-th largest probability, the
// top-p cut) are radix selects over the float bits of p, 8 bits per pass, with shared-memory histograms; since
// p >= 0, its bit pattern orders like its value.

#define SR_THREADS 1024
#define SR_WARPS (SR_THREADS / 32)

struct SampleRow { float temperature; int topK; float topP; float minP; float uniform; };

// Whether probability q survives the filters: the min-p / top-k floor, then (nucleus) the top-p cut, where only the
// first `ties` values equal to the cut are kept, counted in id order by `t` (advanced here for every such value).
__device__ __forceinline__ bool sr_kept(float q, float floor, bool nucleus, float cut, int ties, int& t)
{
    if (!(q >= floor)) return false;
    if (!nucleus) return true;
    if (q < cut) return false;
    return q != cut || t++ < ties;
}

__device__ __forceinline__ float sr_prob(const float* x, int i, float m, float invT)
{
    return expf((x[i] - m) * invT);
}

// Inclusive scan of v over the block; total gets the block total. All threads must call it. The mass scan runs in
// double, so the inverse-CDF walk places the draw as the host's double accumulation does even over 100k+ tokens.
template <typename T> __device__ T sr_block_scan(T v, T* total)
{
    __shared__ T warpTotals[SR_WARPS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 1; o < 32; o <<= 1)
    {
        const T n = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += n;
    }
    __syncthreads();
    if (lane == 31) warpTotals[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        T w = warpTotals[lane];
        for (int o = 1; o < 32; o <<= 1)
        {
            const T n = __shfl_up_sync(0xffffffffu, w, o);
            if (lane >= o) w += n;
        }
        warpTotals[lane] = w;
    }
    __syncthreads();
    if (warp > 0) v += warpTotals[warp - 1];
    *total = warpTotals[SR_WARPS - 1];
    return v;
}

__device__ float sr_block_max(float v)
{
    __shared__ float part[SR_WARPS];
    v = warp_max(v);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    return warp_max(part[threadIdx.x & 31]);
}

__device__ int sr_block_min_int(int v)
{
    __shared__ int part[SR_WARPS];
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    int r = part[threadIdx.x & 31];
    for (int o = 16; o > 0; o >>= 1) r = min(r, __shfl_xor_sync(0xffffffffu, r, o));
    return r;
}

// Bits of the k-th largest probability (ties counted: the value at index k-1 of the descending order).
__device__ unsigned sr_kth_largest(const float* x, int V, float m, float invT, int k)
{
    __shared__ int hist[256];
    __shared__ unsigned sPrefix;
    __shared__ int sRemaining;
    if (threadIdx.x == 0) { sPrefix = 0; sRemaining = k; }
    for (int shift = 24; shift >= 0; shift -= 8)
    {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) hist[d] = 0;
        __syncthreads();
        const unsigned prefix = sPrefix;
        const unsigned highMask = shift == 24 ? 0u : (0xffffffffu << (shift + 8));
        for (int i = threadIdx.x; i < V; i += blockDim.x)
        {
            const unsigned b = __float_as_uint(sr_prob(x, i, m, invT));
            if ((b & highMask) == prefix) atomicAdd(&hist[(b >> shift) & 255], 1);
        }
        __syncthreads();
        if (threadIdx.x == 0)
        {
            int remaining = sRemaining, d = 255;
            for (; d > 0; d--)
            {
                if (hist[d] >= remaining) break;
                remaining -= hist[d];
            }
            sRemaining = remaining;
            sPrefix = prefix | ((unsigned)d << shift);
        }
        __syncthreads();
    }
    return sPrefix;
}

// The top-p cut: the value v* where the descending cumulative mass of the kept probabilities first reaches target,
// and the mass strictly above v*. Returns false when rounding kept the whole mass below target (keep everything).
__device__ bool sr_nucleus_cut(const float* x, int V, float m, float invT, float floor, float target, unsigned* cut, float* above)
{
    __shared__ float mass[256];
    __shared__ unsigned sPrefix;
    __shared__ float sAbove;
    __shared__ int sFound;
    if (threadIdx.x == 0) { sPrefix = 0; sAbove = 0.f; sFound = 1; }
    for (int shift = 24; shift >= 0; shift -= 8)
    {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) mass[d] = 0.f;
        __syncthreads();
        if (!sFound) break;
        const unsigned prefix = sPrefix;
        const unsigned highMask = shift == 24 ? 0u : (0xffffffffu << (shift + 8));
        for (int i = threadIdx.x; i < V; i += blockDim.x)
        {
            float p = sr_prob(x, i, m, invT);
            if (!(p >= floor)) p = 0.f;
            const unsigned b = __float_as_uint(p);
            if (p > 0.f && (b & highMask) == prefix) atomicAdd(&mass[(b >> shift) & 255], p);
        }
        __syncthreads();
        if (threadIdx.x == 0)
        {
            float acc = sAbove;
            int d = 255;
            for (; d >= 0; d--)
            {
                if (acc + mass[d] >= target && mass[d] > 0.f) break;
                acc += mass[d];
            }
            if (d < 0) sFound = 0;
            else { sAbove = acc; sPrefix = prefix | ((unsigned)d << shift); }
        }
        __syncthreads();
    }
    *cut = sPrefix;
    *above = sAbove;
    return sFound != 0;
}

// logits F32 [R, V]; rows [R]; ids I32 [R] (-1 where the row has no finite logit).
extern "C" __global__ void __launch_bounds__(SR_THREADS)
sample_rows_f32(const float* __restrict__ logits, int V, const SampleRow* __restrict__ rows, int* __restrict__ ids)
{
    const float* x = logits + (long long)blockIdx.x * V;
    const SampleRow p = rows[blockIdx.x];
    float lmax = NEG_INF;
    for (int i = threadIdx.x; i < V; i += blockDim.x) lmax = fmaxf(lmax, x[i]);
    const float m = sr_block_max(lmax);
    if ((__float_as_uint(m) & 0x7f800000u) == 0x7f800000u)  // max is infinite or NaN: nothing to sample from
    {
        if (threadIdx.x == 0) ids[blockIdx.x] = -1;
        return;
    }
    if (p.temperature < 1e-5f)
    {
        int first = 0x7fffffff;
        for (int i = threadIdx.x; i < V; i += blockDim.x)
            if (x[i] == m) { first = i; break; }
        first = sr_block_min_int(first);
        if (threadIdx.x == 0) ids[blockIdx.x] = first;
        return;
    }
    const float invT = 1.f / p.temperature;

    float floor = p.minP > 0.f ? p.minP : 0.f;
    if (p.topK > 0 && p.topK < V) floor = fmaxf(floor, __uint_as_float(sr_kth_largest(x, V, m, invT, p.topK)));

    // Nucleus: everything above the cut, plus the lowest-id tokens at the cut value until the mass reaches target.
    bool nucleus = false;
    unsigned cutBits = 0;
    float above = 0.f;
    int ties = 0;
    if (p.topP < 1.f)
    {
        float part = 0.f;
        for (int i = threadIdx.x; i < V; i += blockDim.x)
        {
            const float q = sr_prob(x, i, m, invT);
            if (q >= floor) part += q;
        }
        const float total = block_sum(part);
        nucleus = sr_nucleus_cut(x, V, m, invT, floor, p.topP * total, &cutBits, &above);
        if (nucleus)
        {
            const float cut = __uint_as_float(cutBits);
            ties = (int)ceilf((p.topP * total - above) / cut);
            ties = max(ties, 1);
        }
    }

    // Inverse CDF in id order: thread t owns ids [t*chunk, (t+1)*chunk); scans of the tie counts and of the kept
    // mass locate the owner of the draw, which walks its chunk.
    const int chunk = (V + blockDim.x - 1) / blockDim.x;
    const int begin = min(V, (int)threadIdx.x * chunk), end = min(V, begin + chunk);
    const float cut = __uint_as_float(cutBits);
    int myTies = 0;
    if (nucleus)
        for (int i = begin; i < end; i++)
        {
            const float q = sr_prob(x, i, m, invT);
            if (q >= floor && __float_as_uint(q) == cutBits) myTies++;
        }
    int tieTotal;
    const int tieBase = sr_block_scan<int>(myTies, &tieTotal) - myTies;
    double myMass = 0.0;
    int lastKept = -1;
    for (int i = begin, t = tieBase; i < end; i++)
    {
        float q = sr_prob(x, i, m, invT);
        if (!sr_kept(q, floor, nucleus, cut, ties, t)) continue;
        myMass += q;
        lastKept = i;
    }
    double kept;
    const double incl = sr_block_scan<double>(myMass, &kept);
    const double excl = incl - myMass;
    const double target = (double)p.uniform * kept;
    __shared__ int chosen;
    if (threadIdx.x == 0) chosen = -1;
    __syncthreads();
    if (myMass > 0.0 && target >= excl && target < incl)
    {
        double rest = target - excl;
        int pick = lastKept;
        for (int i = begin, t = tieBase; i < end; i++)
        {
            float q = sr_prob(x, i, m, invT);
            if (!sr_kept(q, floor, nucleus, cut, ties, t)) continue;
            if (rest < q) { pick = i; break; }
            rest -= q;
        }
        chosen = pick;
    }
    __syncthreads();
    // Rounding put the draw at or past the total: the last kept token, as the host walk does.
    const int last = -sr_block_min_int(lastKept >= 0 ? -lastKept : 1);
    if (threadIdx.x == 0) ids[blockIdx.x] = chosen >= 0 ? chosen : last;
}
