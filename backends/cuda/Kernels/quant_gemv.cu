// Weight-only quantized GEMV for decode: y[m, n] = sum_k x[m, k] W[n, k] (+ bias[n]) for M <= 8 rows of x, with W in
// the canonical QuantizedWeight layout (see IQuantizedKernels.cs): Int4 rows of 16-byte blocks holding 32 codes
// (byte j: input 32b+j in the low nibble, 32b+16+j in the high nibble), or one Int8 / FP8 e4m3 byte per input.
// W[n,k] = (value(q) - zero[n,g]) * scale[n / scaleBlockRows, g]; g = gidx[k] (act-order) or k / groupSize.
//
// Bound by reading the packed codes once: each warp streams one weight row with 16-byte loads that bypass L1
// (GEMV_UNROLL in flight per lane), dequantizes in registers and accumulates in float32 for every row of x, which
// (a few KB) stays in L1. When a 16-byte chunk lies in one scale group (no group index and a group size that is a
// multiple of the chunk's inputs) its scale and zero are read once per chunk; otherwise per input.
// grid ceil(N / QGEMV_WARPS), QGEMV_WARPS * 32 threads. The host requires K to fill whole chunks (K % 32 == 0 for
// Int4, K % 16 == 0 for 8-bit codes) and 16-byte aligned x and W; other shapes take the tiled path.

#define QGEMV_WARPS 8
#define QFMT_INT4 0
#define QFMT_INT8 1
#define QFMT_FP8 2

// e4m3fn code -> float: exponent and mantissa moved to bits 20..26 with 120 added to the exponent field give
// 2^(e-7) (1 + m/8) for normal codes; for e = 0 the true subnormal m 2^-9 equals 2 (that - 2^-7).
__device__ __forceinline__ float fp8e4m3_to_f32(unsigned u)
{
    float v = __uint_as_float(((u & 0x7fu) << 20) + (120u << 23));
    if ((u & 0x78u) == 0u) v = 2.f * (v - 0.0078125f);
    return (u & 0x80u) ? -v : v;
}

// A small unsigned integer as float without an int->float conversion: 2^23 + q, minus 2^23 (exact).
__device__ __forceinline__ float small_u2f(unsigned q) { return __uint_as_float(0x4b000000u | q) - 8388608.f; }

// The codes of one 16-byte chunk as floats, in input order (CHUNK = 32 for Int4, 16 for 8-bit codes).
template <int FMT>
__device__ __forceinline__ void qchunk_decode(const uint4 v, float* f)
{
    const unsigned w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
#pragma unroll
        for (int b = 0; b < 4; b++)
        {
            const unsigned byte = (w[i] >> (8 * b)) & 0xffu;
            if (FMT == QFMT_INT4)
            {
                f[4 * i + b] = small_u2f(byte & 15u);
                f[16 + 4 * i + b] = small_u2f(byte >> 4);
            }
            else if (FMT == QFMT_INT8) f[4 * i + b] = small_u2f(byte);
            else f[4 * i + b] = fp8e4m3_to_f32(byte);
        }
    }
}

// Applies (q - zero) * scale to one decoded chunk starting at input kb.
template <int FMT>
__device__ __forceinline__ void qchunk_scale(float* f, int kb, const float* __restrict__ srow, const float* __restrict__ zrow,
                                             const int* __restrict__ gidx, int groupSize, bool uniform)
{
    constexpr int CHUNK = FMT == QFMT_INT4 ? 32 : 16;
    const float mid = FMT == QFMT_INT4 ? 8.f : FMT == QFMT_INT8 ? 128.f : 0.f;
    if (uniform)
    {
        const int g = kb / groupSize;
        const float s = srow[g], z = zrow != nullptr ? zrow[g] : mid;
#pragma unroll
        for (int e = 0; e < CHUNK; e++) f[e] = (f[e] - z) * s;
    }
    else
    {
#pragma unroll
        for (int e = 0; e < CHUNK; e++)
        {
            const int g = gidx != nullptr ? gidx[kb + e] : (kb + e) / groupSize;
            const float z = zrow != nullptr ? zrow[g] : mid;
            f[e] = (f[e] - z) * srow[g];
        }
    }
}

template <int M, int FMT>
__device__ void qgemv_impl(const bf16_t* __restrict__ x, const unsigned char* __restrict__ w, const float* __restrict__ scales,
                           const float* __restrict__ zeros, const int* __restrict__ gidx, const bf16_t* __restrict__ bias,
                           void* __restrict__ y, int n, int k, int rowBytes, int groups, int groupSize, int scaleBlockRows,
                           int f32out)
{
    constexpr int CHUNK = FMT == QFMT_INT4 ? 32 : 16;
    constexpr int UNROLL = 4;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row = blockIdx.x * QGEMV_WARPS + warp;
    if (row >= n) return;
    const int chunks = rowBytes >> 4;
    const uint4* wr = reinterpret_cast<const uint4*>(w + (long long)row * rowBytes);
    const float* srow = scales + (long long)(row / scaleBlockRows) * groups;
    const float* zrow = zeros != nullptr ? zeros + (long long)row * groups : nullptr;
    const bool uniform = gidx == nullptr && groupSize % CHUNK == 0;
    const int k8 = k >> 3;
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL)
    {
        uint4 wv[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            const int c = c0 + u * 32;
            if (c < chunks) wv[u] = gemv_stream_load(wr + c);
            else { wv[u].x = 0u; wv[u].y = 0u; wv[u].z = 0u; wv[u].w = 0u; }
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            const int c = c0 + u * 32;
            if (c >= chunks) break;
            float f[CHUNK];
            qchunk_decode<FMT>(wv[u], f);
            const int kb = c * CHUNK;
            qchunk_scale<FMT>(f, kb, srow, zrow, gidx, groupSize, uniform);
#pragma unroll
            for (int m = 0; m < M; m++)
            {
                float s = 0.f;
#pragma unroll
                for (int q = 0; q < CHUNK / 8; q++)
                {
                    float xf[8];
                    unpack8(xv[(long long)m * k8 + (kb >> 3) + q], xf);
#pragma unroll
                    for (int e = 0; e < 8; e++) s = fmaf(f[8 * q + e], xf[e], s);
                }
                acc[m] += s;
            }
        }
    }
    const float b = bias != nullptr ? bf2f(bias[row]) : 0.f;
#pragma unroll
    for (int m = 0; m < M; m++)
    {
        const float s = warp_sum(acc[m]) + b;
        if (lane == 0)
        {
            if (f32out) reinterpret_cast<float*>(y)[(long long)m * n + row] = s;
            else reinterpret_cast<bf16_t*>(y)[(long long)m * n + row] = f2bf(s);
        }
    }
}

#define QGEMV_KERNEL(M, FMT)                                                                                          \
    extern "C" __global__ void __launch_bounds__(QGEMV_WARPS * 32)                                                      \
        qgemv_f##FMT##_m##M(const bf16_t* x, const unsigned char* w, const float* scales, const float* zeros,          \
                            const int* gidx, const bf16_t* bias, void* y, int n, int k, int rowBytes, int groups,        \
                            int groupSize, int scaleBlockRows, int f32out)                                               \
    { qgemv_impl<M, FMT>(x, w, scales, zeros, gidx, bias, y, n, k, rowBytes, groups, groupSize, scaleBlockRows, f32out); }

#define QGEMV_ROWS(FMT) \
    QGEMV_KERNEL(1, FMT) QGEMV_KERNEL(2, FMT) QGEMV_KERNEL(3, FMT) QGEMV_KERNEL(4, FMT) \
    QGEMV_KERNEL(5, FMT) QGEMV_KERNEL(6, FMT) QGEMV_KERNEL(7, FMT) QGEMV_KERNEL(8, FMT)

QGEMV_ROWS(0)
QGEMV_ROWS(1)
QGEMV_ROWS(2)
