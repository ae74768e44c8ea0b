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

// Eight elements of residual += x, each sum rounded to bf16 as stored, returned; their squares added to ss.
// Shared with fp8_add_rmsnorm_quantize_rows (quant_gemm.cu), whose codes must equal this kernel's output's.
__device__ __forceinline__ uint4 add_residual8(uint4 xv, const uint4 rv, float& ss)
{
    unsigned* xp = &xv.x;
    const unsigned* rp = &rv.x;
#pragma unroll
    for (int k = 0; k < 4; k++)
    {
        xp[k] = pack_bf2(bf_lo(xp[k]) + bf_lo(rp[k]), bf_hi(xp[k]) + bf_hi(rp[k]));  // the sum as stored
        const float a = bf_lo(xp[k]), b = bf_hi(xp[k]);
        ss += a * a + b * b;
    }
    return xv;
}

// Eight normalized elements: r * inv * (offset + w), rounded to bf16 (shared as add_residual8 is).
__device__ __forceinline__ uint4 rmsnorm8(const uint4 rv, const uint4 wv, float inv, float offset)
{
    const unsigned* rp = &rv.x;
    const unsigned* wp = &wv.x;
    uint4 ov;
    unsigned* op = &ov.x;
#pragma unroll
    for (int k = 0; k < 4; k++)
        op[k] = pack_bf2(bf_lo(rp[k]) * inv * (offset + bf_lo(wp[k])), bf_hi(rp[k]) * inv * (offset + bf_hi(wp[k])));
    return ov;
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
            reinterpret_cast<uint4*>(rr)[c] = add_residual8(reinterpret_cast<const uint4*>(xr)[c], reinterpret_cast<const uint4*>(rr)[c], ss);
        const float inv = rsqrtf(block_sum(ss) / hidden + eps);
        // Each thread re-reads only the chunks it wrote above, so no barrier is needed between the passes.
        for (int c = threadIdx.x; c < chunks; c += blockDim.x)
            reinterpret_cast<uint4*>(orow)[c] = rmsnorm8(reinterpret_cast<const uint4*>(rr)[c], reinterpret_cast<const uint4*>(w)[c], inv, offset);
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
