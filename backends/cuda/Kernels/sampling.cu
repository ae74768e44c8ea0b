// Greedy sampling on the device: one block per logits row, so a decode step hands back token ids, not logits.

__device__ __forceinline__ void argmax_merge(float& best, int& bi, float v, int i)
{
    // Larger wins; on a tie the smaller index wins, as the host's first-index-of-max does. NaN compares false.
    if (v > best || (v == best && i < bi)) { best = v; bi = i; }
}

// x F32 [rows, cols] -> out I32 [rows]. blockDim.x is a multiple of 32, at most 1024.
extern "C" __global__ void argmax_rows_f32(const float* __restrict__ x, int cols, int* __restrict__ out)
{
    const float* r = x + (long long)blockIdx.x * cols;
    float best = NEG_INF;
    int bi = 0x7fffffff;
    if ((cols & 3) == 0)
    {
        const float4* r4 = reinterpret_cast<const float4*>(r);
        const int n4 = cols >> 2;
        for (int i = threadIdx.x; i < n4; i += blockDim.x)
        {
            const float4 v = r4[i];
            argmax_merge(best, bi, v.x, 4 * i);
            argmax_merge(best, bi, v.y, 4 * i + 1);
            argmax_merge(best, bi, v.z, 4 * i + 2);
            argmax_merge(best, bi, v.w, 4 * i + 3);
        }
    }
    else
    {
        for (int i = threadIdx.x; i < cols; i += blockDim.x) argmax_merge(best, bi, r[i], i);
    }
    for (int o = 16; o > 0; o >>= 1)
    {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        argmax_merge(best, bi, ov, oi);
    }
    __shared__ float sv[32];
    __shared__ int si[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    if (lane == 0) { sv[warp] = best; si[warp] = bi; }
    __syncthreads();
    if (warp != 0) return;
    best = lane < nwarps ? sv[lane] : NEG_INF;
    bi = lane < nwarps ? si[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1)
    {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        argmax_merge(best, bi, ov, oi);
    }
    // A row of NaNs only: index 0 rather than an out-of-range id.
    if (lane == 0) out[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
}
