// Quantized linear layers for batches past the GEMV's few rows.
//  * quant_dequant_tile_bf16: rows [row0, row0 + rows) of a canonical quantized weight dequantized into a dense bf16
//    tile, which cuBLAS then multiplies (tile by tile: the whole layer is never held dequantized).
//  * fp8_act_quantize_rows / fp8_gemm_epilogue: the FP8 tensor-core path. Activations are quantized to
//    e4m3 with one dynamic scale per token and cuBLASLt multiplies the codes. Where cuBLASLt takes outer-vector
//    scales (Hopper, CUDA 12.8+) it applies activation scale x weight scale and the bias itself and writes the
//    output; otherwise it writes raw sums and the epilogue applies scales (per tensor or per output channel) and bias.

// Dequantizes 8 consecutive inputs per thread (Int4 codes in the row-major or, with tiled != 0, the tiled layout of
// quant_gemv.cu): grid (ceil(ceil(K/8) / 256), rows up to 65535), block 256, rows
// beyond the grid's height looped (no 64-bit division per element).
extern "C" __global__ void quant_dequant_tile_bf16(const unsigned char* __restrict__ w, const float* __restrict__ scales,
                                                   const float* __restrict__ zeros, const int* __restrict__ gidx,
                                                   bf16_t* __restrict__ out, int row0, int rows, int k, int rowBytes,
                                                   int groups, int groupSize, int scaleBlockRows, int fmt, int tiled)
{
    const int seg = blockIdx.x * blockDim.x + threadIdx.x;
    if (seg * 8 >= k) return;
    const float mid = fmt == QFMT_INT4 ? 8.f : fmt == QFMT_INT8 ? 128.f : 0.f;
    for (int r = blockIdx.y; r < rows; r += gridDim.y)
    {
        const int n = row0 + r;
        const unsigned char* wrow = w + (long long)n * rowBytes;
        const float* srow = scales + (long long)(n / scaleBlockRows) * groups;
        const float* zrow = zeros != nullptr ? zeros + (long long)n * groups : nullptr;
        bf16_t* orow = out + (long long)r * k;
#pragma unroll
        for (int e = 0; e < 8; e++)
        {
            const int kk = seg * 8 + e;
            if (kk >= k) break;
            float q;
            if (fmt == QFMT_INT4)
            {
                const unsigned byte = tiled ? w[int4_tiled_chunk(n, kk >> 5, rowBytes) + (kk & 15)] : wrow[(kk >> 5) * 16 + (kk & 15)];
                q = small_u2f((kk & 16) ? (byte >> 4) : (byte & 15u));
            }
            else if (fmt == QFMT_INT8) q = small_u2f(wrow[kk]);
            else q = fp8e4m3_to_f32(wrow[kk]);
            const int g = gidx != nullptr ? gidx[kk] : kk / groupSize;
            const float z = zrow != nullptr ? zrow[g] : mid;
            orow[kk] = f2bf((q - z) * srow[g]);
        }
    }
}

// The Int4 case of quant_dequant_tile_bf16 without act-order and with groups of a multiple of 32 inputs (or one group
// per row): a thread takes one 16-byte chunk of codes (32 inputs of one group: byte j holds input j in its low nibble
// and j + 16 in its high one), loaded whole, and writes its 64 bytes of bf16. Threads walk the codes in memory order
// (tiled layout: the chunk pair t fastest, then the row in its half-tile, the half, the 128-input step, the tile; see
// int4_tiled_chunk), so warps read contiguous bytes; the generic kernel's byte loads ran at about a sixth of the copy
// rate (H100 W1 GPTQ prefill: 89.8 us per 4,096 x 4,096 tile). Grid-stride over rows [row0, row0 + rows) x K / 32
// chunks; tiled needs row0 and rows multiples of 16. Same arithmetic as the generic kernel (bitwise equal output).
extern "C" __global__ void quant_dequant_tile_int4_bf16(const unsigned char* __restrict__ w, const float* __restrict__ scales,
                                                        const float* __restrict__ zeros, bf16_t* __restrict__ out, int row0,
                                                        int rows, int k, int rowBytes, int groups, int groupSize,
                                                        int scaleBlockRows, int tiled)
{
    const int chunks = k >> 5;
    const long long total = (long long)rows * chunks;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total; idx += (long long)gridDim.x * blockDim.x)
    {
        int r, c;
        if (tiled)
        {
            const int perTile = 16 * chunks;
            const int tile = (int)(idx / perTile);
            const int rem = (int)(idx - (long long)tile * perTile);
            r = tile * 16 + ((rem >> 5) & 1) * 8 + ((rem >> 2) & 7);
            c = (rem >> 6) * 4 + (rem & 3);
        }
        else
        {
            r = (int)(idx / chunks);
            c = (int)(idx - (long long)r * chunks);
        }
        const int n = row0 + r;
        const uint4 code = tiled ? *reinterpret_cast<const uint4*>(w + int4_tiled_chunk(n, c, rowBytes))
                                 : reinterpret_cast<const uint4*>(w + (long long)n * rowBytes)[c];
        const int g = (c << 5) / groupSize;
        const float sc = scales[(long long)(n / scaleBlockRows) * groups + g];
        const float z = zeros != nullptr ? zeros[(long long)n * groups + g] : 8.f;
        unsigned o[16];
#pragma unroll
        for (int v = 0; v < 4; v++)
        {
            const unsigned word = uint4_word(code, v);
#pragma unroll
            for (int h = 0; h < 2; h++)
            {
                // Bytes 4v + 2h and 4v + 2h + 1: inputs 4v + 2h, + 1 (low nibbles) and 16 + the same (high nibbles).
                const unsigned b0 = (word >> (16 * h)) & 0xffu, b1 = (word >> (16 * h + 8)) & 0xffu;
                o[2 * v + h] = pack_bf2((small_u2f(b0 & 15u) - z) * sc, (small_u2f(b1 & 15u) - z) * sc);
                o[8 + 2 * v + h] = pack_bf2((small_u2f(b0 >> 4) - z) * sc, (small_u2f(b1 >> 4) - z) * sc);
            }
        }
        uint4* dst = reinterpret_cast<uint4*>(out + (long long)r * k + (c << 5));
#pragma unroll
        for (int q = 0; q < 4; q++) dst[q] = make_uint4(o[4 * q], o[4 * q + 1], o[4 * q + 2], o[4 * q + 3]);
    }
}

// The second half of the per-token FP8 quantization: the block's max |x| (each thread's share in m) / 448 becomes
// scales[row], then the row's K = 8 k8 bf16 values in src (global or shared memory) are written to qv as e4m3.
__device__ void fp8_quantize_row(float m, const uint4* src, uint2* qv, int k8, float* scales, long long row)
{
    __shared__ float part[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    m = warp_max(m);
    if (lane == 0) part[warp] = m;
    __syncthreads();
    m = warp_max(lane < nwarps ? part[lane] : 0.f);
    const float s = m > 0.f ? m / 448.f : 1.f;
    const float inv = 1.f / s;
    if (threadIdx.x == 0) scales[row] = s;
    for (int i = threadIdx.x; i < k8; i += blockDim.x)
    {
        float f[8];
        unpack8(src[i], f);
        uint2 o;
        o.x = f32x2_to_e4m3x2(f[0] * inv, f[1] * inv) | (f32x2_to_e4m3x2(f[2] * inv, f[3] * inv) << 16);
        o.y = f32x2_to_e4m3x2(f[4] * inv, f[5] * inv) | (f32x2_to_e4m3x2(f[6] * inv, f[7] * inv) << 16);
        qv[i] = o;
    }
}

// The wvec duty of the activation quantization kernels (see fp8_act_quantize_rows), spread over the whole grid.
__device__ __forceinline__ void fp8_fill_wvec(float* __restrict__ wvec, const float* __restrict__ wscales, int scaleBlockRows, int n)
{
    if (wvec == nullptr) return;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        wvec[i] = wscales[i / scaleBlockRows];
}

// One block per row of x [T, K] (K % 8 == 0, rows 16-byte aligned): the row's max |x| / 448 is its scale
// (written to scales[row] for the epilogue), then the row is quantized to e4m3 with it (the second read hits L1/L2).
// Per-token scales keep one outlier token from flattening every other token's codes.
// With wvec non-null the grid also writes wvec[i] = wscales[i / scaleBlockRows] for i < n: the weight's scale per
// output row, the vector cuBLASLt's outer-vector scaling wants when the weight has one scale per tensor or per block of
// rows (a few KiB per call, so no per-weight state has to live beside the weight).
extern "C" __global__ void fp8_act_quantize_rows(const bf16_t* __restrict__ x, unsigned char* __restrict__ q, int k,
                                                 float* __restrict__ scales, const float* __restrict__ wscales,
                                                 int scaleBlockRows, int n, float* __restrict__ wvec)
{
    fp8_fill_wvec(wvec, wscales, scaleBlockRows, n);
    const long long row = blockIdx.x;
    const uint4* xv = reinterpret_cast<const uint4*>(x + row * k);
    uint2* qv = reinterpret_cast<uint2*>(q + row * k);
    const int k8 = k >> 3;
    float m = 0.f;
    for (int i = threadIdx.x; i < k8; i += blockDim.x)
    {
        float f[8];
        unpack8(xv[i], f);
#pragma unroll
        for (int e = 0; e < 8; e++) m = fmaxf(m, fabsf(f[e]));
    }
    fp8_quantize_row(m, xv, qv, k8, scales, row);
}

// act_and_mul_bf16 fused into fp8_act_quantize_rows for the input of an FP8 down projection: row t of gateUp [T, 2K]
// (K % 8 == 0, rows 16-byte aligned) gives h = act(gate) * up rounded to bf16 as act_and_mul_bf16 stores it, kept in
// dynamic shared memory (K bf16) between the max pass and the quantize pass; scales, codes and the wvec duty as
// fp8_act_quantize_rows, so the codes equal the unfused pair's. Saves the [T, K] bf16 round trip and a launch.
extern "C" __global__ void fp8_act_and_mul_quantize_rows(const bf16_t* __restrict__ gateUp, int act, unsigned char* __restrict__ q,
                                                         int k, float* __restrict__ scales, const float* __restrict__ wscales,
                                                         int scaleBlockRows, int n, float* __restrict__ wvec)
{
    extern __shared__ __align__(16) unsigned char amq_sh[];
    uint4* hs = reinterpret_cast<uint4*>(amq_sh);
    fp8_fill_wvec(wvec, wscales, scaleBlockRows, n);
    const long long row = blockIdx.x;
    const uint4* gv = reinterpret_cast<const uint4*>(gateUp + row * 2 * k);
    const uint4* uv = reinterpret_cast<const uint4*>(gateUp + row * 2 * k + k);
    uint2* qv = reinterpret_cast<uint2*>(q + row * k);
    const int k8 = k >> 3;
    float m = 0.f;
    for (int i = threadIdx.x; i < k8; i += blockDim.x)
    {
        const uint4 h = act_and_mul8(gv[i], uv[i], act);
        const unsigned* hp = &h.x;
#pragma unroll
        for (int w = 0; w < 4; w++) m = fmaxf(m, fmaxf(fabsf(bf_lo(hp[w])), fabsf(bf_hi(hp[w]))));
        hs[i] = h;  // each thread reads back only its own entries below
    }
    fp8_quantize_row(m, hs, qv, k8, scales, row);
}

// out[t, n] = acc[t, n] * xscale[t] * wscale[n / scaleBlockRows] (+ bias[n]); acc is the FP8 GEMM's [T, N] result in
// float32 (accBf16 = 0) or bf16 (accBf16 = 1); out is bf16 or float32. grid (ceil(N / 256), rows up to 65535),
// block 256: one column per thread, rows beyond the grid's height looped.
extern "C" __global__ void fp8_gemm_epilogue(const void* __restrict__ acc, int accBf16, const float* __restrict__ xscales,
                                             const float* __restrict__ wscales, int scaleBlockRows,
                                             const bf16_t* __restrict__ bias, void* __restrict__ out, int rows, int n,
                                             int f32out)
{
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= n) return;
    const float ws = wscales[col / scaleBlockRows];
    const float b = bias != nullptr ? bf2f(bias[col]) : 0.f;
    for (int r = blockIdx.y; r < rows; r += gridDim.y)
    {
        const long long i = (long long)r * n + col;
        const float a = accBf16 ? bf2f(reinterpret_cast<const bf16_t*>(acc)[i]) : reinterpret_cast<const float*>(acc)[i];
        const float v = fmaf(a * xscales[r], ws, b);
        if (f32out) reinterpret_cast<float*>(out)[i] = v;
        else reinterpret_cast<bf16_t*>(out)[i] = f2bf(v);
    }
}

// add_rmsnorm_bf16 (rmsnorm_bf16 when x is null) fused into fp8_act_quantize_rows for the input of an FP8 q|k|v or
// gate|up projection: row t of residual [T, K] (K % 8 == 0, rows 16-byte aligned) takes += x as add_rmsnorm_bf16 stores
// it, then its norm, rounded to bf16 as the norm kernels write it, is kept in dynamic shared memory (K bf16) between
// the norm pass and the quantize pass; scales, codes and the wvec duty as fp8_act_quantize_rows. Launched with the
// norm kernels' block size, summing in their order through their helpers (add_residual8, rmsnorm8 in norm.cu), so
// the codes equal the unfused pair's. Saves the [T, K] bf16
// round trip of the normalized activations and a launch.
extern "C" __global__ void fp8_add_rmsnorm_quantize_rows(const bf16_t* __restrict__ x, bf16_t* __restrict__ residual,
                                                         const bf16_t* __restrict__ nw, float eps, float offset,
                                                         unsigned char* __restrict__ q, int k, float* __restrict__ scales,
                                                         const float* __restrict__ wscales, int scaleBlockRows, int n,
                                                         float* __restrict__ wvec)
{
    extern __shared__ __align__(16) unsigned char nq_sh[];
    uint4* hs = reinterpret_cast<uint4*>(nq_sh);
    fp8_fill_wvec(wvec, wscales, scaleBlockRows, n);
    const long long row = blockIdx.x;
    bf16_t* rr = residual + row * k;
    uint4* rv = reinterpret_cast<uint4*>(rr);
    uint2* qv = reinterpret_cast<uint2*>(q + row * k);
    const int k8 = k >> 3;
    float ss = 0.f;
    if (x != nullptr)
    {
        const uint4* xv = reinterpret_cast<const uint4*>(x + row * k);
        for (int c = threadIdx.x; c < k8; c += blockDim.x)
        {
            const uint4 a = add_residual8(xv[c], rv[c], ss);
            rv[c] = a;
            hs[c] = a;  // each thread reads back only its own entries below
        }
    }
    else
    {
        // rmsnorm_bf16's order: element h by thread h % blockDim.
        for (int h = threadIdx.x; h < k; h += blockDim.x) { const float v = bf2f(rr[h]); ss += v * v; }
        for (int c = threadIdx.x; c < k8; c += blockDim.x) hs[c] = rv[c];
    }
    const float inv = rsqrtf(block_sum(ss) / k + eps);
    const uint4* wv = reinterpret_cast<const uint4*>(nw);
    float m = 0.f;
    for (int c = threadIdx.x; c < k8; c += blockDim.x)
    {
        const uint4 o = rmsnorm8(hs[c], wv[c], inv, offset);
        const unsigned* op = &o.x;
#pragma unroll
        for (int e = 0; e < 4; e++) m = fmaxf(m, fmaxf(fabsf(bf_lo(op[e])), fabsf(bf_hi(op[e]))));
        hs[c] = o;
    }
    fp8_quantize_row(m, hs, qv, k8, scales, row);
}
