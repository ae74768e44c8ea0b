// Skinny products for decode: y[m, n] = sum_k x[m, k] W[n, k] for M <= 4 rows of x. Bound by reading W once,
// so each warp streams one weight row with 16-byte loads that bypass L1 (read once), four in flight per lane
// before any is used; x (a few KB, shared by every warp) stays in L1. Float32 accumulation, output bf16 or f32.
// grid ceil(N / 8), 256 threads (8 warps, one output column n each). K must be a multiple of 8 and rows 16-byte
// aligned (the host checks and otherwise uses cuBLAS).

#define GEMV_WARPS 8
#define GEMV_UNROLL 4

__device__ __forceinline__ uint4 gemv_stream_load(const uint4* p)
{
    uint4 r;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

__device__ __forceinline__ float gemv_dot8(const uint4 w, const uint4 x)
{
    float wf[8], xf[8];
    unpack8(w, wf);
    unpack8(x, xf);
    float s = 0.f;
#pragma unroll
    for (int e = 0; e < 8; e++) s = fmaf(wf[e], xf[e], s);
    return s;
}

template <int M, bool F32OUT>
__device__ void gemv_impl(const bf16_t* __restrict__ x, const bf16_t* __restrict__ w, void* __restrict__ y, int n, int k)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row = blockIdx.x * GEMV_WARPS + warp;
    if (row >= n) return;
    const int k8 = k >> 3;
    const uint4* wr = reinterpret_cast<const uint4*>(w + (long long)row * k);
    const uint4* xr = reinterpret_cast<const uint4*>(x);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
    for (int c0 = lane; c0 < k8; c0 += 32 * GEMV_UNROLL)
    {
        uint4 wv[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++)
        {
            const int c = c0 + u * 32;
            if (c < k8) wv[u] = gemv_stream_load(wr + c);
            else { wv[u].x = 0u; wv[u].y = 0u; wv[u].z = 0u; wv[u].w = 0u; }
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++)
        {
            const int c = c0 + u * 32;
            if (c >= k8) break;
#pragma unroll
            for (int m = 0; m < M; m++) acc[m] += gemv_dot8(wv[u], xr[(long long)m * k8 + c]);
        }
    }
#pragma unroll
    for (int m = 0; m < M; m++)
    {
        const float s = warp_sum(acc[m]);
        if (lane == 0)
        {
            if (F32OUT) reinterpret_cast<float*>(y)[(long long)m * n + row] = s;
            else reinterpret_cast<bf16_t*>(y)[(long long)m * n + row] = f2bf(s);
        }
    }
}

#define GEMV_KERNEL(M)                                                                                        \
    extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_bf16_m##M(const bf16_t* x, const bf16_t* w, \
                                                                                 void* y, int n, int k)     \
    { gemv_impl<M, false>(x, w, y, n, k); }                                                                   \
    extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_f32out_m##M(const bf16_t* x, const bf16_t* w, \
                                                                                   void* y, int n, int k)   \
    { gemv_impl<M, true>(x, w, y, n, k); }

GEMV_KERNEL(1)
GEMV_KERNEL(2)
GEMV_KERNEL(3)
GEMV_KERNEL(4)
