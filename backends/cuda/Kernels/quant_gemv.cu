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
// Int4 without act-order and with groups of whole 128-input steps runs qgemv_int4_mma_r* (end of this file) by
// default; these CUDA-core kernels serve Int8, FP8, the other Int4 cases, and Int4 under MODULAR_QGEMV=legacy.

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

// ---- Int4 decode GEMV on the tensor cores (the default; MODULAR_QGEMV=legacy selects qgemv_f0_* above) ----
//
// The kernels above spend about three instructions per weight (shift, mask/or into a float mantissa, FFMA) and are
// issue bound near 1.6 TB/s. Here the multiply-add moves to mma.sync m16n8k16 (bf16 x bf16 -> float32): one mma
// does 256 weights of a 16-row tile for up to 8 rows of x (the n = 8 columns of B are the rows of x, so M = 1..8
// costs the same), and the per-weight work left is decoding two codes per instruction into a bf16x2 register:
//   lop3(w << 3, 0x00780078, 0x3f803f80) = bf16x2(1 + q0/16, 1 + q2/16) for the low nibbles of bytes 0 and 2,
// likewise w >> 5 (bytes 1 and 3), w >> 1 and w >> 9 (high nibbles): 4 shifts + 4 lop3 per 8 codes (one shift is a
// left shift, which the compiler may issue as IMAD.SHL on the FMA pipe). The pairs (input j, input j+2) this gives
// are matched on the x side by two prmt per 8 codes shared by every weight row the warp holds.
//
// Scale and zero are folded out per 128-input step exactly as in qgemv_impl: sum_k x_k (q_k - z) s =
// S D + C Sx with D = sum_k x_k (1 + q_k/16) (the mma accumulator), S = 16 s, C = -s (16 + z), and Sx = sum_k x_k
// taken by one more mma against an all-ones A (exact products, float32 sums). 1 + q/16 keeps the cancellation
// between S D and C Sx at the ratio (16 + z) / |q - z| the legacy kernel already has (float32 keeps 20+ bits
// through it), and every product x_k (1 + q_k/16) is exact in the float32 accumulator, so unlike packed
// fp16/bf16 arithmetic nothing is rounded below float32 and x never leaves bf16 (no fp16 range concerns).
//
// Mapping (lane = 4 g + t): a warp owns tiles of 16 weight rows; for a 128-input step i of K, thread t loads the
// 16-byte chunk 4 i + t of rows g and g + 8 of each tile, so one load instruction reads 64 contiguous bytes of 8
// rows. Word v of the chunk and nibble half h give mma k positions {2t, 2t+1} <- inputs (4v+16h, 4v+16h+2) and
// {2t+8, 2t+9} <- (4v+16h+1, 4v+16h+3) of that chunk, the same for every row, so A needs no shuffles; B (column g
// = row min(g, M-1) of x) is built from the same inputs with prmt. The 8 warps of a block split the K steps
// (warp w takes steps w, w + 8, ...) with QG4_STAGES steps of codes, x, scales and zeros loaded ahead, and add
// their partial sums through shared memory in a fixed order (deterministic). A step must lie in one scale group:
// the host takes this path only without act-order and with group size a multiple of 128 or >= K (K % 32 == 0).
// grid ceil(N / (16 R)), QG4_WARPS * 32 threads.

// WARPS and STAGES are template parameters: 8 and 3 by default (qgemv_int4_mma_r1/_r2); the _w*s* variants exist for
// A/B runs (MODULAR_QGEMV=w4s4 ...), since the small projections of a decode step are latency-bound (a 4096 x 4096
// Int4 weight is 8 MB: two memory round trips at 3 stages) and the large ones bandwidth-bound.

// Tiled Int4 layout (the cuda backend's own, made once at load by int4_tile_repack when N % 16 == 0 and
// K % 128 == 0): the 16 rows of a tile keep their byte range [16 tile rowBytes, 16 (tile + 1) rowBytes), and inside
// it the 16-byte chunks are ordered so that what one warp of the tensor-core GEMVs reads for a 128-input step is
// one contiguous kilobyte: step i, then row half h (rows g / g + 8 of the tile), then lane 4 g + t holding chunk
// 4 i + t. In the row-major layout those bytes are 64-byte pieces of 16 rows 2 KB+ apart, which HBM serves at about
// two thirds of its streaming rate.
__device__ __forceinline__ long long int4_tiled_chunk(int row, int c, int rowBytes)
{
    return (long long)(row >> 4) * 16 * rowBytes + (c >> 2) * 1024 + ((row >> 3) & 1) * 512 + (((row & 7) << 2) | (c & 3)) * 16;
}

// The fp16 scale|zero array the stream GEMV reads: out[tile, group, r] = (scale, zero point) of row 16 tile + r as
// two f16 (zero 8 when the weight has none), so the 16 rows of one group are one 64-byte line. GPTQ and AWQ write
// their scales in fp16 and their zero points are integers, so the pair is exact; *inexact becomes 1 when any value
// does not survive the rounding (the host then keeps the weight row-major). One pair per thread (grid-stride).
extern "C" __global__ void int4_tile_scales_f16(const float* __restrict__ scales, const float* __restrict__ zeros,
                                                unsigned* __restrict__ out, int n, int groups, int scaleBlockRows,
                                                int* __restrict__ inexact)
{
    const long long total = (long long)n * groups;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total; e += (long long)gridDim.x * blockDim.x)
    {
        const int r = (int)(e & 15);
        const long long tg = e >> 4;  // tile * groups + group
        const int tile = (int)(tg / groups), grp = (int)(tg - (long long)tile * groups);
        const int row = 16 * tile + r;
        const float s = scales[(long long)(row / scaleBlockRows) * groups + grp];
        const float z = zeros != nullptr ? zeros[(long long)row * groups + grp] : 8.f;
        const f16_t hs = f2h(s), hz = f2h(z);
        if (h2f(hs) != s || h2f(hz) != z) *inexact = 1;
        out[e] = (unsigned)hs | ((unsigned)hz << 16);
    }
}

// dst = src reordered from row-major to the tiled layout, one 16-byte chunk per thread (grid-stride).
extern "C" __global__ void int4_tile_repack(const uint4* __restrict__ src, unsigned char* __restrict__ dst, int n, int rowBytes)
{
    const int chunks = rowBytes >> 4;
    const long long total = (long long)n * chunks;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total; e += (long long)gridDim.x * blockDim.x)
    {
        const int row = (int)(e / chunks), c = (int)(e - (long long)row * chunks);
        *reinterpret_cast<uint4*>(dst + int4_tiled_chunk(row, c, rowBytes)) = src[e];
    }
}

__device__ __forceinline__ unsigned qg4_lop(unsigned v)
{
    unsigned r;
    // (v & 0x00780078) | 0x3f803f80: LUT (a & b) | c = 0xf0 & 0xcc | 0xaa = 0xea.
    asm("lop3.b32 %0, %1, %2, %3, 0xea;" : "=r"(r) : "r"(v), "r"(0x00780078u), "r"(0x3f803f80u));
    return r;
}

__device__ __forceinline__ unsigned qg4_prmt(unsigned a, unsigned b, unsigned sel)
{
    unsigned r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(sel));
    return r;
}

// d += A B for one m16n8k16 step (bf16 operands, float32 accumulators; fragment layouts as in the PTX ISA).
__device__ __forceinline__ void qg4_mma(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// 16 bytes of x through the non-coherent path, kept in L1 (the 8 lanes of one t read the same bytes, other blocks
// on the SM read them again).
__device__ __forceinline__ uint4 qg4_load_x(const bf16_t* p)
{
    uint4 r;
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

// What one K step needs, loaded QG4_STAGES - 1 steps ahead of its use.
template <int R>
struct Qg4Stage
{
    uint4 w[R][2];   // chunk 4 i + t of rows g and g + 8 of each tile
    uint4 x[4];      // inputs 32 (4 i + t) .. + 31 of row min(g, M-1) of x
    float s[R][2];   // scale and zero of those rows for the step's group
    float z[R][2];
};

template <int R, int QG4_WARPS, int QG4_STAGES, bool TILED>
__device__ void qg4_impl(const bf16_t* __restrict__ x, const unsigned char* __restrict__ w, const float* __restrict__ scales,
                         const float* __restrict__ zeros, const bf16_t* __restrict__ bias, void* __restrict__ y, int n, int m,
                         int k, int rowBytes, int groups, int groupSize, int scaleBlockRows, int f32out)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * 16 * R;
    const int chunks = rowBytes >> 4, steps = (chunks + 3) >> 2;
    // Step i lies in group i / (groupSize / 128); (i + 0.5) / q never lands on an integer (see qgemv_impl).
    const float invStepsPerGroup = groupSize >= k ? 0.f : 1.f / (float)(groupSize >> 7);
    const uint4* wr[R][2];
    const float* sr[R][2];
    const float* zr[R][2];
#pragma unroll
    for (int j = 0; j < R; j++)
#pragma unroll
        for (int h = 0; h < 2; h++)
        {
            int row = row0 + 16 * j + 8 * h + g;
            row = row < n ? row : n - 1;  // rows past N repeat the last one; their sums are not stored
            wr[j][h] = reinterpret_cast<const uint4*>(w + (TILED ? int4_tiled_chunk(row, t, rowBytes) : (long long)row * rowBytes + 16 * t));
            sr[j][h] = scales + (long long)(row / scaleBlockRows) * groups;
            zr[j][h] = zeros != nullptr ? zeros + (long long)row * groups : nullptr;
        }
    const bf16_t* xr = x + (long long)(g < m ? g : m - 1) * k + 32 * t;

    Qg4Stage<R> st[QG4_STAGES];
    auto load = [&](Qg4Stage<R>& s, int i)
    {
        if (i >= steps) return;  // warp-uniform
        if (4 * i + t < chunks)
        {
#pragma unroll
            for (int j = 0; j < R; j++)
#pragma unroll
                for (int h = 0; h < 2; h++) s.w[j][h] = gemv_stream_load(wr[j][h] + (TILED ? 64 : 4) * i);
#pragma unroll
            for (int q = 0; q < 4; q++) s.x[q] = qg4_load_x(xr + 128 * i + 8 * q);
        }
        else
        {
            // Past K (K % 128 != 0): zero x makes the step add nothing whatever the codes.
            const uint4 zero = {0u, 0u, 0u, 0u};
#pragma unroll
            for (int j = 0; j < R; j++) { s.w[j][0] = zero; s.w[j][1] = zero; }
#pragma unroll
            for (int q = 0; q < 4; q++) s.x[q] = zero;
        }
        const int grp = (int)(((float)i + 0.5f) * invStepsPerGroup);
#pragma unroll
        for (int j = 0; j < R; j++)
#pragma unroll
            for (int h = 0; h < 2; h++)
            {
                s.s[j][h] = sr[j][h][grp];
                s.z[j][h] = zr[j][h] != nullptr ? zr[j][h][grp] : 8.f;
            }
    };

    float acc[R][4];
#pragma unroll
    for (int j = 0; j < R; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[j][e] = 0.f;

#pragma unroll
    for (int p = 0; p < QG4_STAGES; p++) load(st[p], warp + p * QG4_WARPS);

    const unsigned ONE2 = 0x3f803f80u;  // bf16x2 (1, 1)
    for (int base = warp; base < steps; base += QG4_STAGES * QG4_WARPS)
    {
#pragma unroll
        for (int p = 0; p < QG4_STAGES; p++)
        {
            const int i = base + p * QG4_WARPS;
            if (i >= steps) break;  // warp-uniform
            Qg4Stage<R>& s = st[p];
            const unsigned xw[16] = {s.x[0].x, s.x[0].y, s.x[0].z, s.x[0].w, s.x[1].x, s.x[1].y, s.x[1].z, s.x[1].w,
                                     s.x[2].x, s.x[2].y, s.x[2].z, s.x[2].w, s.x[3].x, s.x[3].y, s.x[3].z, s.x[3].w};
            // Two accumulators per tile (low / high nibbles) halve the dependent mma chain.
            float d[R][2][4], sx[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
            for (int j = 0; j < R; j++)
#pragma unroll
                for (int e = 0; e < 4; e++) { d[j][0][e] = 0.f; d[j][1][e] = 0.f; }
#pragma unroll
            for (int v = 0; v < 4; v++)
            {
#pragma unroll
                for (int h = 0; h < 2; h++)
                {
                    // x inputs 4v+16h .. +3 of the chunk are words 2v+8h (inputs +0, +1) and 2v+8h+1 (+2, +3).
                    const unsigned x0 = xw[2 * v + 8 * h], x1 = xw[2 * v + 8 * h + 1];
                    const unsigned b0 = qg4_prmt(x0, x1, 0x5410u);  // (input +0, input +2)
                    const unsigned b1 = qg4_prmt(x0, x1, 0x7632u);  // (input +1, input +3)
                    qg4_mma(sx, ONE2, ONE2, ONE2, ONE2, b0, b1);
#pragma unroll
                    for (int j = 0; j < R; j++)
                    {
                        const unsigned ua = uint4_word(s.w[j][0], v), ub = uint4_word(s.w[j][1], v);
                        // h = 0: low nibbles, bytes (0, 2) from << 3 and (1, 3) from >> 5; h = 1: >> 1 and >> 9.
                        const unsigned a02 = qg4_lop(h == 0 ? ua << 3 : ua >> 1), a13 = qg4_lop(h == 0 ? ua >> 5 : ua >> 9);
                        const unsigned b02 = qg4_lop(h == 0 ? ub << 3 : ub >> 1), b13 = qg4_lop(h == 0 ? ub >> 5 : ub >> 9);
                        qg4_mma(d[j][h], a02, b02, a13, b13, b0, b1);
                    }
                }
            }
            // Fold the step's scale and zero: acc += S D + C Sx per row (rows g, g + 8; columns 2t, 2t + 1).
#pragma unroll
            for (int j = 0; j < R; j++)
#pragma unroll
                for (int h = 0; h < 2; h++)
                {
                    const float S = 16.f * s.s[j][h], C = -s.s[j][h] * (16.f + s.z[j][h]);
#pragma unroll
                    for (int c = 0; c < 2; c++)
                    {
                        float& a = acc[j][2 * h + c];
                        a = fmaf(C, sx[c], a);
                        a = fmaf(S, d[j][0][2 * h + c], a);
                        a = fmaf(S, d[j][1][2 * h + c], a);
                    }
                }
            load(s, i + QG4_STAGES * QG4_WARPS);
        }
    }

    // Sum the warps' partials in a fixed order. Slot (j, e, lane) of acc is row row0 + 16 j + g + 8 (e >> 1),
    // column (row of x) 2t + (e & 1).
    __shared__ float part[QG4_WARPS][R * 4][32];
#pragma unroll
    for (int j = 0; j < R; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) part[warp][4 * j + e][lane] = acc[j][e];
    __syncthreads();
    for (int slot = threadIdx.x; slot < R * 4 * 32; slot += QG4_WARPS * 32)
    {
        const int je = slot >> 5, l = slot & 31;
        const int col = 2 * (l & 3) + (je & 1);
        const int row = row0 + 16 * (je >> 2) + (l >> 2) + 8 * ((je >> 1) & 1);
        if (col >= m || row >= n) continue;
        float v = 0.f;
#pragma unroll
        for (int q = 0; q < QG4_WARPS; q++) v += part[q][je][l];
        if (bias != nullptr) v += bf2f(bias[row]);
        if (f32out) reinterpret_cast<float*>(y)[(long long)col * n + row] = v;
        else reinterpret_cast<bf16_t*>(y)[(long long)col * n + row] = f2bf(v);
    }
}

#define QG4_KERNEL(NAME, R, W, S, TILED)                                                                                 \
    extern "C" __global__ void __launch_bounds__(W * 32)                                                                  \
        NAME(const bf16_t* x, const unsigned char* w, const float* scales, const float* zeros,                            \
             const bf16_t* bias, void* y, int n, int m, int k, int rowBytes, int groups, int groupSize,                   \
             int scaleBlockRows, int f32out)                                                                              \
    { qg4_impl<R, W, S, TILED>(x, w, scales, zeros, bias, y, n, m, k, rowBytes, groups, groupSize, scaleBlockRows, f32out); }

// R = weight tiles of 16 rows per warp: 2 shares each x fragment and the ones-mma between two tiles when N is
// large enough to fill the device anyway.
QG4_KERNEL(qgemv_int4_mma_r1, 1, 8, 3, false)
QG4_KERNEL(qgemv_int4_mma_r2, 2, 8, 3, false)
QG4_KERNEL(qgemv_int4_mma_w8s4, 1, 8, 4, false)
QG4_KERNEL(qgemv_int4_mma_w4s4, 1, 4, 4, false)
QG4_KERNEL(qgemv_int4_mma_w16s2, 1, 16, 2, false)
// The same on the tiled layout (2..8 rows of x; one row takes qgemv_int4_stream_*).
QG4_KERNEL(qgemv_int4_mma_tiled_r1, 1, 8, 3, true)
