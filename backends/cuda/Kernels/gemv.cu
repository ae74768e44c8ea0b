// Skinny products for decode: y[m, n] = sum_k x[m, k] W[n, k] for M <= 4 rows of x. Bound by reading W once,
// so each warp streams one weight row with 16-byte loads that bypass L1 (read once), U per lane in flight before
// any is used; x (a few KB, shared by every warp) stays in L1. Float32 accumulation, output bf16 or f32.
// grid ceil(N / 8), 256 threads (8 warps, one output column n each). K must be a multiple of 8 and rows 16-byte
// aligned (the host checks and otherwise uses cuBLAS).
// U = 4 measured best (H200, W1 Llama-8B: 220.6 tok/s; U = 8: 202.7; U = 16: 202.0). More loads per lane cost
// registers, fewer blocks fit an SM, and the 512- and 768-block grids of the 4096-row projections no longer run in
// one wave. U = 8 stays compiled for A/B (MODULAR_CUDA_GEMV_UNROLL).

#define GEMV_WARPS 8

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

// This lane's partial dot products of weight row wr with the M rows of x (k8 16-byte chunks per row).
template <int M, int U>
__device__ __forceinline__ void gemv_row_partial(const uint4* __restrict__ xr, const uint4* __restrict__ wr, int k8,
                                                 int lane, float (&acc)[M])
{
    for (int c0 = lane; c0 < k8; c0 += 32 * U)
    {
        uint4 wv[U];
#pragma unroll
        for (int u = 0; u < U; u++)
        {
            const int c = c0 + u * 32;
            if (c < k8) wv[u] = gemv_stream_load(wr + c);
            else { wv[u].x = 0u; wv[u].y = 0u; wv[u].z = 0u; wv[u].w = 0u; }
        }
#pragma unroll
        for (int u = 0; u < U; u++)
        {
            const int c = c0 + u * 32;
            if (c >= k8) break;
#pragma unroll
            for (int m = 0; m < M; m++) acc[m] += gemv_dot8(wv[u], xr[(long long)m * k8 + c]);
        }
    }
}

template <int M, int U, bool F32OUT>
__device__ void gemv_impl(const bf16_t* __restrict__ x, const bf16_t* __restrict__ w, void* __restrict__ y, int n, int k)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row = blockIdx.x * GEMV_WARPS + warp;
    if (row >= n) return;
    const int k8 = k >> 3;
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
    gemv_row_partial<M, U>(reinterpret_cast<const uint4*>(x), reinterpret_cast<const uint4*>(w + (long long)row * k), k8, lane, acc);
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

// The gated MLP's first product with its activation as the epilogue: out[m, j] = act(x[m] . W[j]) * (x[m] . W[I + j])
// for W = gate|up stacked [2I, K]. One warp reads both rows of output j, so the [M, 2I] intermediate and the separate
// act_and_mul launch disappear. Same grid as gemv over I outputs. W1 Llama-8B on the H200: 221.2 tok/s against
// 220.6 unfused (U = 4): one launch and a round trip less per layer, within the noise of the token time.
template <int M, int U>
__device__ void gemv_gate_up_impl(const bf16_t* __restrict__ x, const bf16_t* __restrict__ w, bf16_t* __restrict__ out,
                                  int inter, int k, int act)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int j = blockIdx.x * GEMV_WARPS + warp;
    if (j >= inter) return;
    const int k8 = k >> 3;
    const uint4* xr = reinterpret_cast<const uint4*>(x);
    float g[M], u[M];
#pragma unroll
    for (int m = 0; m < M; m++) { g[m] = 0.f; u[m] = 0.f; }
    gemv_row_partial<M, U>(xr, reinterpret_cast<const uint4*>(w + (long long)j * k), k8, lane, g);
    gemv_row_partial<M, U>(xr, reinterpret_cast<const uint4*>(w + (long long)(inter + j) * k), k8, lane, u);
#pragma unroll
    for (int m = 0; m < M; m++)
    {
        const float gs = warp_sum(g[m]), us = warp_sum(u[m]);
        if (lane == 0) out[(long long)m * inter + j] = f2bf(act_fn(gs, act) * us);
    }
}

#define GEMV_KERNEL(M, U)                                                                                     \
    extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_bf16_m##M##_u##U(const bf16_t* x,      \
        const bf16_t* w, void* y, int n, int k)                                                               \
    { gemv_impl<M, U, false>(x, w, y, n, k); }                                                                \
    extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_f32out_m##M##_u##U(const bf16_t* x,    \
        const bf16_t* w, void* y, int n, int k)                                                               \
    { gemv_impl<M, U, true>(x, w, y, n, k); }                                                                 \
    extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) gemv_gate_up_m##M##_u##U(const bf16_t* x,   \
        const bf16_t* w, bf16_t* out, int inter, int k, int act)                                              \
    { gemv_gate_up_impl<M, U>(x, w, out, inter, k, act); }

#define GEMV_KERNELS(U) GEMV_KERNEL(1, U) GEMV_KERNEL(2, U) GEMV_KERNEL(3, U) GEMV_KERNEL(4, U)

GEMV_KERNELS(4)
GEMV_KERNELS(8)
