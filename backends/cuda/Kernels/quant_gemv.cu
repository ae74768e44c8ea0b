// Weight-only quantized GEMV for decode: y[m, n] = sum_k x[m, k] W[n, k] (+ bias[n]) for M <= 8 rows of x, with W in
// the canonical QuantizedWeight layout (see IQuantizedKernels.cs): Int4 rows of 16-byte blocks holding 32 codes
// (byte j: input 32b+j in the low nibble, 32b+16+j in the high nibble), or one Int8 / FP8 e4m3 byte per input.
// W[n,k] = (value(q) - zero[n,g]) * scale[n / scaleBlockRows, g]; g = gidx[k] (act-order) or k / groupSize.
//
// Bound by reading the packed codes once, and otherwise by instruction issue, so the inner loop is kept to about
// three instructions per weight: each warp streams R weight rows with 16-byte loads that bypass L1; an integer code
// q becomes the float w' = 1 + q/2^bits by one shift and one bitwise op (the code placed in the mantissa of 1.0),
// and when a 16-byte chunk lies in one scale group the scale and zero are folded out of the per-weight work:
// sum_e x_e (q_e - z) s = S sum_e x_e w'_e + C sum_e x_e with S = 2^bits s, C = -s (2^bits + z) (float32 keeps 15+
// bits through that cancellation). x (a few KB, in L1) is unpacked once per chunk and reused for the R rows.
// Otherwise (act-order group index, groups not a multiple of the chunk) each weight is scaled by its own group.
// grid ceil(N / (QGEMV_WARPS R)), QGEMV_WARPS * 32 threads. The host requires K to fill whole chunks (K % 32 == 0
// for Int4, K % 16 == 0 for 8-bit codes) and 16-byte aligned x and W; other shapes take the tiled path.

#define QGEMV_WARPS 4
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

// Four bf16 (8 bytes) as floats.
__device__ __forceinline__ void unpack4(const uint2 v, float* f)
{
    f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
    f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
}

// The codes of 32-bit word i of a chunk as w' values. Int4: 8 values, [0..3] = low nibbles of bytes 0..3 (inputs
// 4i..4i+3 of the chunk), [4..7] = high nibbles (inputs 16+4i..16+4i+3), each 1 + q/16. Int8: 4 values 1 + q/256
// (inputs 4i..4i+3). FP8: the 4 decoded e4m3 values.
template <int FMT>
__device__ __forceinline__ void qword_decode(const unsigned w, float* f)
{
    if (FMT == QFMT_INT4)
    {
        f[0] = __uint_as_float(((w << 19) & 0x00780000u) | 0x3f800000u);
        f[1] = __uint_as_float(((w << 11) & 0x00780000u) | 0x3f800000u);
        f[2] = __uint_as_float(((w << 3) & 0x00780000u) | 0x3f800000u);
        f[3] = __uint_as_float(((w >> 5) & 0x00780000u) | 0x3f800000u);
        f[4] = __uint_as_float(((w << 15) & 0x00780000u) | 0x3f800000u);
        f[5] = __uint_as_float(((w << 7) & 0x00780000u) | 0x3f800000u);
        f[6] = __uint_as_float(((w >> 1) & 0x00780000u) | 0x3f800000u);
        f[7] = __uint_as_float(((w >> 9) & 0x00780000u) | 0x3f800000u);
    }
    else if (FMT == QFMT_INT8)
    {
        f[0] = __uint_as_float(((w << 15) & 0x007f8000u) | 0x3f800000u);
        f[1] = __uint_as_float(((w << 7) & 0x007f8000u) | 0x3f800000u);
        f[2] = __uint_as_float(((w >> 1) & 0x007f8000u) | 0x3f800000u);
        f[3] = __uint_as_float(((w >> 9) & 0x007f8000u) | 0x3f800000u);
    }
    else
    {
#pragma unroll
        for (int b = 0; b < 4; b++) f[b] = fp8e4m3_to_f32((w >> (8 * b)) & 0xffu);
    }
}

// Offset within the chunk of decoded value e of word i (see qword_decode).
template <int FMT>
__device__ __forceinline__ int qword_input(int i, int e) { return FMT == QFMT_INT4 ? (e < 4 ? 4 * i + e : 16 + 4 * i + e - 4) : 4 * i + e; }

// S and C of one row's group g (see the header): w = S w' + C.
template <int FMT>
__device__ __forceinline__ void qgroup_affine(const float* __restrict__ srow, const float* __restrict__ zrow, int g, float& S, float& C)
{
    const float s = srow[g];
    if (FMT == QFMT_FP8) { S = s; C = 0.f; return; }
    constexpr float span = FMT == QFMT_INT4 ? 16.f : 256.f;
    const float z = zrow != nullptr ? zrow[g] : (FMT == QFMT_INT4 ? 8.f : 128.f);
    S = span * s;
    C = -s * (span + z);
}

__device__ __forceinline__ unsigned uint4_word(const uint4 v, int i) { return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w; }

template <int M, int FMT, int R>
__device__ void qgemv_impl(const bf16_t* __restrict__ x, const unsigned char* __restrict__ w, const float* __restrict__ scales,
                           const float* __restrict__ zeros, const int* __restrict__ gidx, const bf16_t* __restrict__ bias,
                           void* __restrict__ y, int n, int k, int rowBytes, int groups, int groupSize, int scaleBlockRows,
                           int f32out)
{
    constexpr int CHUNK = FMT == QFMT_INT4 ? 32 : 16;
    constexpr int NV = FMT == QFMT_INT4 ? 8 : 4;          // decoded values per 32-bit word
    constexpr int U = R >= 4 ? 1 : (R == 2 ? 2 : 4);       // chunks per lane in flight: U * R loads
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = (blockIdx.x * QGEMV_WARPS + warp) * R;
    if (row0 >= n) return;
    const int chunks = rowBytes >> 4;
    const uint4* wr[R];
    const float* srow[R];
    const float* zrow[R];
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        const int row = row0 + r < n ? row0 + r : n - 1;  // rows past N repeat the last one; their sums are not stored
        wr[r] = reinterpret_cast<const uint4*>(w + (long long)row * rowBytes);
        srow[r] = scales + (long long)(row / scaleBlockRows) * groups;
        zrow[r] = zeros != nullptr ? zeros + (long long)row * groups : nullptr;
    }
    const bool uniform = gidx == nullptr && groupSize % CHUNK == 0;
    const float invChunksPerGroup = uniform ? 1.f / (float)(groupSize / CHUNK) : 0.f;
    float acc[M][R];
#pragma unroll
    for (int m = 0; m < M; m++)
#pragma unroll
        for (int r = 0; r < R; r++) acc[m][r] = 0.f;
    for (int c0 = lane; c0 < chunks; c0 += 32 * U)
    {
        uint4 wv[U][R];
#pragma unroll
        for (int u = 0; u < U; u++)
#pragma unroll
            for (int r = 0; r < R; r++)
            {
                const int c = c0 + u * 32;
                if (c < chunks) wv[u][r] = gemv_stream_load(wr[r] + c);
                else { wv[u][r].x = 0u; wv[u][r].y = 0u; wv[u][r].z = 0u; wv[u][r].w = 0u; }
            }
#pragma unroll
        for (int u = 0; u < U; u++)
        {
            const int c = c0 + u * 32;
            if (c >= chunks) break;
            const int kb = c * CHUNK;
            float S[R], C[R];
            if (uniform)
            {
                // c / (groupSize / CHUNK) without an integer division: (c + 0.5) / q never lands on an integer.
                const int g = (int)(((float)c + 0.5f) * invChunksPerGroup);
#pragma unroll
                for (int r = 0; r < R; r++) qgroup_affine<FMT>(srow[r], zrow[r], g, S[r], C[r]);
            }
            float dot[M][R], sx[M];
#pragma unroll
            for (int m = 0; m < M; m++)
            {
                sx[m] = 0.f;
#pragma unroll
                for (int r = 0; r < R; r++) dot[m][r] = 0.f;
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                float xf[M][NV];
#pragma unroll
                for (int m = 0; m < M; m++)
                {
                    const bf16_t* xr = x + (long long)m * k + kb + 4 * i;
                    unpack4(*reinterpret_cast<const uint2*>(xr), xf[m]);
                    if (FMT == QFMT_INT4) unpack4(*reinterpret_cast<const uint2*>(xr + 16), xf[m] + 4);
                    if (FMT != QFMT_FP8)
#pragma unroll
                        for (int e = 0; e < NV; e++) sx[m] += xf[m][e];
                }
#pragma unroll
                for (int r = 0; r < R; r++)
                {
                    float wf[NV];
                    qword_decode<FMT>(uint4_word(wv[u][r], i), wf);
                    if (!uniform)
                    {
#pragma unroll
                        for (int e = 0; e < NV; e++)
                        {
                            const int kk = kb + qword_input<FMT>(i, e);
                            float Se, Ce;
                            qgroup_affine<FMT>(srow[r], zrow[r], gidx != nullptr ? gidx[kk] : kk / groupSize, Se, Ce);
                            wf[e] = fmaf(wf[e], Se, Ce);
                        }
                    }
#pragma unroll
                    for (int m = 0; m < M; m++)
#pragma unroll
                        for (int e = 0; e < NV; e++) dot[m][r] = fmaf(xf[m][e], wf[e], dot[m][r]);
                }
            }
#pragma unroll
            for (int m = 0; m < M; m++)
#pragma unroll
                for (int r = 0; r < R; r++)
                    acc[m][r] += uniform ? fmaf(S[r], dot[m][r], C[r] * sx[m]) : dot[m][r];
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        const int row = row0 + r;
        const float b = bias != nullptr && row < n ? bf2f(bias[row]) : 0.f;
#pragma unroll
        for (int m = 0; m < M; m++)
        {
            const float s = warp_sum(acc[m][r]) + b;
            if (lane == 0 && row < n)
            {
                if (f32out) reinterpret_cast<float*>(y)[(long long)m * n + row] = s;
                else reinterpret_cast<bf16_t*>(y)[(long long)m * n + row] = f2bf(s);
            }
        }
    }
}

#define QGEMV_KERNEL(M, FMT, R)                                                                                       \
    extern "C" __global__ void __launch_bounds__(QGEMV_WARPS * 32)                                                      \
        qgemv_f##FMT##_m##M##_r##R(const bf16_t* x, const unsigned char* w, const float* scales, const float* zeros,   \
                                   const int* gidx, const bf16_t* bias, void* y, int n, int k, int rowBytes, int groups, \
                                   int groupSize, int scaleBlockRows, int f32out)                                        \
    { qgemv_impl<M, FMT, R>(x, w, scales, zeros, gidx, bias, y, n, k, rowBytes, groups, groupSize, scaleBlockRows, f32out); }

// Rows per warp: R = 4 up to 2 rows of x, 2 up to 4, 1 beyond (registers grow with M x R).
#define QGEMV_FORMAT(FMT)                                                                                \
    QGEMV_KERNEL(1, FMT, 1) QGEMV_KERNEL(1, FMT, 2) QGEMV_KERNEL(1, FMT, 4)                              \
    QGEMV_KERNEL(2, FMT, 1) QGEMV_KERNEL(2, FMT, 2) QGEMV_KERNEL(2, FMT, 4)                              \
    QGEMV_KERNEL(3, FMT, 1) QGEMV_KERNEL(3, FMT, 2) QGEMV_KERNEL(4, FMT, 1) QGEMV_KERNEL(4, FMT, 2)      \
    QGEMV_KERNEL(5, FMT, 1) QGEMV_KERNEL(6, FMT, 1) QGEMV_KERNEL(7, FMT, 1) QGEMV_KERNEL(8, FMT, 1)

QGEMV_FORMAT(0)
QGEMV_FORMAT(1)
QGEMV_FORMAT(2)
