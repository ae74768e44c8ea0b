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

// float -> f16, round to nearest even.
__device__ __forceinline__ f16_t f2h(float f)
{
    f16_t h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

// Shared-memory address of a generic pointer, for cp.async / ldmatrix / st.shared operands.
__device__ __forceinline__ unsigned smem_addr(const void* p)
{
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// 16-byte asynchronous copy global -> shared (L2 only); bytes = 0 writes zeros and reads nothing.
__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, int bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(bytes) : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most N of this thread's newest copy groups are still in flight; N = 0 waits for all of them. Other
// threads' copies are visible after a barrier that follows the wait (__syncwarp within a warp, __syncthreads).
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

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

// Two floats -> two e4m3fn codes (round to nearest even, saturating to +-448), lo in bits 0..7, hi in 8..15.
__device__ __forceinline__ unsigned f32x2_to_e4m3x2(float lo, float hi)
{
#if __CUDA_ARCH__ >= 890
    unsigned short r;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
    return r;
#else
    unsigned codes[2];
    const float v[2] = {lo, hi};
    for (int j = 0; j < 2; j++)
    {
        const unsigned sign = (__float_as_uint(v[j]) >> 24) & 0x80u;
        const float a = fminf(fabsf(v[j]), 448.f);
        unsigned code;
        if (a < 0.015625f) code = (unsigned)__float2int_rn(a * 512.f);  // subnormals step 2^-9; 8 is the smallest normal
        else
        {
            int e;
            const float fr = frexpf(a, &e);                             // a = fr 2^e, fr in [0.5, 1)
            code = ((unsigned)(e + 6) << 3) + (unsigned)__float2int_rn(fr * 16.f - 8.f);  // a carry bumps the exponent
            if (code > 0x7eu) code = 0x7eu;
        }
        codes[j] = sign | code;
    }
    return codes[0] | (codes[1] << 8);
#endif
}

// Four e4m3fn codes (byte j of w is element j) as four bf16 (lo word = elements 0, 1), exactly. Each code's sign
// and 7 exponent/mantissa bits move into a bf16 whose exponent field is the e4m3 one; one bf16x2 multiply by 2^120
// then rebiases (bias 7 -> 127), and it also makes the e4m3 subnormals right, since m 2^-9 = (m / 8) 2^-126 2^120
// (bf16 arithmetic keeps subnormal operands). Codes 0x7F / 0xFF (NaN) come out as 480, but the cache writer
// (f32x2_to_e4m3x2) saturates, so they only appear for NaN inputs.
__device__ __forceinline__ uint2 e4m3x4_to_bf16x4(unsigned w)
{
    unsigned a, b;
    asm("prmt.b32 %0, %1, %2, 0x4140;" : "=r"(a) : "r"(w), "r"(0u));  // bytes 0, 1 -> low bytes of the halves
    asm("prmt.b32 %0, %1, %2, 0x4342;" : "=r"(b) : "r"(w), "r"(0u));  // bytes 2, 3
    a = ((a & 0x007f007fu) << 4) | ((a & 0x00800080u) << 8);
    b = ((b & 0x007f007fu) << 4) | ((b & 0x00800080u) << 8);
    // x * 2^120 + (-0): exact; -0 keeps the sign of zero codes.
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(a) : "r"(a), "r"(0x7b807b80u), "r"(0x80008000u));
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(b) : "r"(b), "r"(0x7b807b80u), "r"(0x80008000u));
    uint2 r;
    r.x = a;
    r.y = b;
    return r;
}

// Sixteen e4m3fn codes as sixteen bf16: elements 0..7 in lo, 8..15 in hi.
__device__ __forceinline__ void e4m3x16_to_bf16x16(const uint4 w, uint4& lo, uint4& hi)
{
    const uint2 a = e4m3x4_to_bf16x4(w.x), b = e4m3x4_to_bf16x4(w.y), c = e4m3x4_to_bf16x4(w.z), d = e4m3x4_to_bf16x4(w.w);
    lo.x = a.x; lo.y = a.y; lo.z = b.x; lo.w = b.y;
    hi.x = c.x; hi.y = c.y; hi.z = d.x; hi.w = d.y;
}
