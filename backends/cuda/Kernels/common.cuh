// Shared helpers for every kernel file. Compiled by NVRTC with no CUDA headers: bf16 and f16 are carried as
// raw 16-bit words and converted with bit operations / PTX, so no include paths are needed at run time.
typedef unsigned short bf16_t;
typedef unsigned short f16_t;

#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float bf2f(bf16_t h) { return __uint_as_float(((unsigned)h) << 16); }

// float -> bf16, round to nearest even; NaN stays NaN (quiet bit set).
__device__ __forceinline__ bf16_t f2bf(float f)
{
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}

// The two bf16 halves of a 32-bit word (lo = the lower element index) as floats, and two floats packed back.
__device__ __forceinline__ float bf_lo(unsigned w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf_hi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }
__device__ __forceinline__ unsigned pack_bf2(float lo, float hi) { return (unsigned)f2bf(lo) | ((unsigned)f2bf(hi) << 16); }

__device__ __forceinline__ float h2f(f16_t h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block; every thread gets the result. blockDim.x must be a multiple of 32.
__device__ float block_sum(float v)
{
    __shared__ float part[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // part[] may still be read by a previous call
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? part[lane] : 0.f;
    return warp_sum(r);
}

__device__ __forceinline__ float act_fn(float x, int act)
{
    if (act == 0) return x / (1.f + expf(-x));                                      // SiLU
    if (act == 1) return 0.5f * x * (1.f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));  // GELU tanh
    return 0.5f * x * (1.f + erff(x * 0.7071067812f));                                // GELU erf
}

// True when every pointer is 16-byte aligned (vector paths fall back to scalar code for unaligned views).
__device__ __forceinline__ bool aligned16(const void* a, const void* b, const void* c = 0, const void* d = 0)
{
    return ((reinterpret_cast<unsigned long long>(a) | reinterpret_cast<unsigned long long>(b) |
             reinterpret_cast<unsigned long long>(c) | reinterpret_cast<unsigned long long>(d)) & 15ull) == 0ull;
}
