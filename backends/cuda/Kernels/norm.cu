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

// residual += x (rounded to bf16, as stored), then out = RmsNorm(residual).
extern "C" __global__ void add_rmsnorm_bf16(const bf16_t* __restrict__ x, bf16_t* __restrict__ residual,
                                            const bf16_t* __restrict__ w, bf16_t* __restrict__ out,
                                            int hidden, float eps, float offset)
{
    const bf16_t* xr = x + (long long)blockIdx.x * hidden;
    bf16_t* rr = residual + (long long)blockIdx.x * hidden;
    bf16_t* orow = out + (long long)blockIdx.x * hidden;
    float ss = 0.f;
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
