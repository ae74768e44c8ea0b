// RMSNorm, plain and fused with the residual add. One block per row; sums in float32.

extern "C" __global__ void rmsnorm_bf16(const bf16_t* __restrict__ x, const bf16_t* __restrict__ w,
                                        bf16_t* __restrict__ out, int hidden, float eps, float offset)
{
    const bf16_t* xr = x + (long long)blockIdx.x * hidden;
    bf16_t* orow = out + (long long)blockIdx.x * hidden;
    float ss = 0.f;
    for (int h = threadIdx.x; h < hidden; h += blockDim.x) { float v = bf2f(xr[h]); ss += v * v; }
    const float inv = rsqrtf(block_sum(ss) / hidden + eps);
    for (int h = threadIdx.x; h < hidden; h += blockDim.x) orow[h] = f2bf(bf2f(xr[h]) * inv * (offset + bf2f(w[h])));
}

// residual += x (rounded to bf16, as stored), then out = RmsNorm(residual). Rows of a multiple of 8 elements move
// as 16-byte words (scalar 2-byte accesses left this kernel at a third of the copy bandwidth).
extern "C" __global__ void add_rmsnorm_bf16(const bf16_t* __restrict__ x, bf16_t* __restrict__ residual,
                                            const bf16_t* __restrict__ w, bf16_t* __restrict__ out,
                                            int hidden, float eps, float offset)
{
    const bf16_t* xr = x + (long long)blockIdx.x * hidden;
    bf16_t* rr = residual + (long long)blockIdx.x * hidden;
    bf16_t* orow = out + (long long)blockIdx.x * hidden;
    float ss = 0.f;
    if ((hidden & 7) == 0 && aligned16(x, residual, w, out))
    {
        const int chunks = hidden >> 3;
        for (int c = threadIdx.x; c < chunks; c += blockDim.x)
        {
            uint4 xv = reinterpret_cast<const uint4*>(xr)[c];
            uint4 rv = reinterpret_cast<const uint4*>(rr)[c];
            unsigned* xp = &xv.x;
            const unsigned* rp = &rv.x;
#pragma unroll
            for (int k = 0; k < 4; k++)
            {
                xp[k] = pack_bf2(bf_lo(xp[k]) + bf_lo(rp[k]), bf_hi(xp[k]) + bf_hi(rp[k]));  // the sum as stored
                const float a = bf_lo(xp[k]), b = bf_hi(xp[k]);
                ss += a * a + b * b;
            }
            reinterpret_cast<uint4*>(rr)[c] = xv;
        }
        const float inv = rsqrtf(block_sum(ss) / hidden + eps);
        // Each thread re-reads only the chunks it wrote above, so no barrier is needed between the passes.
        for (int c = threadIdx.x; c < chunks; c += blockDim.x)
        {
            const uint4 rv = reinterpret_cast<const uint4*>(rr)[c];
            const uint4 wv = reinterpret_cast<const uint4*>(w)[c];
            const unsigned* rp = &rv.x;
            const unsigned* wp = &wv.x;
            uint4 ov;
            unsigned* op = &ov.x;
#pragma unroll
            for (int k = 0; k < 4; k++)
            {
                op[k] = pack_bf2(bf_lo(rp[k]) * inv * (offset + bf_lo(wp[k])), bf_hi(rp[k]) * inv * (offset + bf_hi(wp[k])));
            }
            reinterpret_cast<uint4*>(orow)[c] = ov;
        }
        return;
    }
    for (int h = threadIdx.x; h < hidden; h += blockDim.x)
    {
        const bf16_t s = f2bf(bf2f(xr[h]) + bf2f(rr[h]));
        rr[h] = s;
        const float v = bf2f(s);
        ss += v * v;
    }
    const float inv = rsqrtf(block_sum(ss) / hidden + eps);
    // Each thread re-reads only the elements it wrote above, so no barrier is needed between the passes.
    for (int h = threadIdx.x; h < hidden; h += blockDim.x) orow[h] = f2bf(bf2f(rr[h]) * inv * (offset + bf2f(w[h])));
}
