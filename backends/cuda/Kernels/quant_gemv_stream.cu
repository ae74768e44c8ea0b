// Int4 decode GEMV for a single row of x (M = 1, the single-stream decode step) on the tiled layout (see
// int4_tiled_chunk in quant_gemv.cu), streaming codes and scales through a per-warp shared-memory ring filled by
// cp.async. Same math and fragment mapping as qgemv_int4_mma: mma.sync m16n8k16 on bf16 pairs (1 + q/16), scale
// and zero folded out per 128-input step. What differs is how the bytes arrive:
//  * a warp step's codes are one contiguous kilobyte (tiled layout) and its 16 (scale, zero) f16 pairs one 64-byte
//    line of the tiled scale|zero array [tiles, groups, 16] (int4_tile_scales_f16). Reading them from the row-major
//    float [N, groups] arrays instead touched 32 sectors per step, which cost more time than the codes themselves
//    (H100, bench/kernels/qgemv_bench.cu: W1 projections 2.05 ms per token with row-major scales, 1.79 with a
//    128-byte float line, 1.69 with none at all; the f16 line then took 1.90 where the float one took 2.01 in one run);
//  * a stage costs no registers (qg4_impl holds 28 per stage), so NS - 1 steps are in flight per warp and a
//    warp's share of K is usually requested before its first byte is used;
//  * x is copied once per block into shared memory (zero past K) with its per-step sums Sx (one thread per step),
//    which replaces qg4_impl's ones-mma.
// Per 128-input step i a lane (g, t) copies 16 bytes of rows g and g + 8 of its tile (chunk 4 i + t); lanes 0-3
// copy the step's 64-byte scale|zero line. Stage layout: codes of rows g (32 lanes x 16 B), of rows g + 8, the line.
// grid ceil(N / 16 / TPB), TPB * WPT warps: warp w takes tile TPB blockIdx.x + w / WPT and steps w % WPT, + WPT, ...;
// the WPT partial sums of a tile are added in a fixed order (deterministic). The host requires N % 16 == 0,
// K % 128 == 0 and a step inside one scale group (as for qgemv_int4_mma).
// Tried and dropped (H100, W1 GPTQ, 2026-12-06): add_rmsnorm as this kernel's prologue for q|k|v and gate|up, every
// block adding residual + delta and normalizing into its x copy (block 0 writing the residual), which removes 63
// launches per token: 334.7 decode tok/s against 356.4 without. Each block then reads 24 KB instead of 8 KB of x-side
// data (21 MB more L2 traffic per gate|up), which costs more than the launch it saves.

#define QS_STAGE_BYTES 1088

// Dynamic shared memory of qs_impl for K inputs.
__host__ __device__ __forceinline__ int qs_shared_bytes(int k, int warps, int stages)
{
    const int steps = k >> 7;
    return steps * 256 + ((steps * 4 + 15) & ~15) + warps * stages * QS_STAGE_BYTES;
}

// GATED: the weight is gate|up stacked [2I, K] and y[j] = act(gate_j) * up_j for j < I (act_fn's code in f32out):
// the block's first TPB / 2 tiles are gate tiles and the rest the up tiles I / 16 further on, so both halves of
// an output meet in the block's final sum and the [2I] intermediate and act_and_mul's launch disappear.
template <int TPB, int WPT, int NS, bool GATED>
__device__ void qs_impl(const bf16_t* __restrict__ x, const unsigned char* __restrict__ w, const void* __restrict__ sz,
                        const bf16_t* __restrict__ bias, void* __restrict__ y, int n, int k,
                        int rowBytes, int groups, int groupSize, int f32out)
{
    static_assert(!GATED || TPB % 2 == 0, "a gated block pairs gate tiles with up tiles");
    constexpr int WARPS = TPB * WPT;
    extern __shared__ __align__(16) unsigned char qs_sh[];
    __shared__ float part[WARPS][16];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int steps = rowBytes >> 6;
    bf16_t* xs = reinterpret_cast<bf16_t*>(qs_sh);
    float* sxs = reinterpret_cast<float*>(qs_sh + steps * 256);
    unsigned char* ring = qs_sh + steps * 256 + ((steps * 4 + 15) & ~15) + warp * NS * QS_STAGE_BYTES;
    const unsigned ringA = smem_addr(ring);

    // A warp of a tile past N (odd tile count, TPB = 2) reads the last tile again; its sums are not stored.
    const int tl = warp / WPT, ks = warp % WPT;
    const int tile = GATED ? (tl < TPB / 2 ? 0 : n >> 5) + min((int)blockIdx.x * (TPB / 2) + tl % (TPB / 2), (n >> 5) - 1)
                           : min((int)blockIdx.x * TPB + tl, (n >> 4) - 1);
    const unsigned char* wA = w + int4_tiled_chunk(16 * tile + g, t, rowBytes);
    const unsigned char* wB = w + int4_tiled_chunk(16 * tile + 8 + g, t, rowBytes);
    // Lanes 0-3: this lane's 16 bytes of each group's line.
    const unsigned char* szl = reinterpret_cast<const unsigned char*>(sz) + (long long)tile * groups * 64 + 16 * (lane & 3);
    // Step i lies in group i / (groupSize / 128); (i + 0.5) / q never lands on an integer (see qgemv_impl).
    const float invStepsPerGroup = groupSize >= k ? 0.f : 1.f / (float)(groupSize >> 7);
    const int count = ks < steps ? (steps - ks + WPT - 1) / WPT : 0;

    auto issue = [&](int c)
    {
        if (c < count)
        {
            const int i = ks + c * WPT;
            const unsigned st = ringA + (c % NS) * QS_STAGE_BYTES;
            cp_async16(st + lane * 16, wA + 1024LL * i, 16);
            cp_async16(st + 512 + lane * 16, wB + 1024LL * i, 16);
            if (lane < 4) cp_async16(st + 1024 + lane * 16, szl + 64LL * (int)(((float)i + 0.5f) * invStepsPerGroup), 16);
        }
        cp_async_commit();  // empty groups past the warp's share keep the group count uniform
    };

    // x first, then the codes of the first NS - 1 steps, all in flight together. (Loading x with plain loads after
    // the codes, so that programmatic dependent launch could overlap the codes with the kernel before, serialized
    // the x loads: W1's four products took 2.01 ms per token instead of 1.79 on the H100.)
    const unsigned xsA = smem_addr(xs);
    for (int c = threadIdx.x; c < steps * 16; c += WARPS * 32) cp_async16(xsA + 16 * c, x + 8 * c, 16);
    cp_async_commit();
#pragma unroll
    for (int p = 0; p < NS - 1; p++) issue(p);
    cp_async_wait<NS - 1>();  // this thread's x copies have landed
    __syncthreads();
    for (int j = threadIdx.x; j < steps; j += WARPS * 32)
    {
        const uint4* xq = reinterpret_cast<const uint4*>(xs + 128 * j);
        float s = 0.f;
#pragma unroll 4
        for (int q = 0; q < 16; q++)
        {
            const uint4 v = xq[q];
            s += (bf_lo(v.x) + bf_hi(v.x)) + (bf_lo(v.y) + bf_hi(v.y)) + (bf_lo(v.z) + bf_hi(v.z)) + (bf_lo(v.w) + bf_hi(v.w));
        }
        sxs[j] = s;
    }
    __syncthreads();

    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int c = 0; c < count; c++)
    {
        issue(c + NS - 1);
        cp_async_wait<NS - 1>();
        __syncwarp();
        const unsigned char* st = ring + (c % NS) * QS_STAGE_BYTES;
        const uint4 ca = *reinterpret_cast<const uint4*>(st + lane * 16);
        const uint4 cb = *reinterpret_cast<const uint4*>(st + 512 + lane * 16);
        const f16_t* sz16 = reinterpret_cast<const f16_t*>(st + 1024);
        const float sA = h2f(sz16[2 * g]), zA = h2f(sz16[2 * g + 1]), sB = h2f(sz16[16 + 2 * g]), zB = h2f(sz16[17 + 2 * g]);
        const int i = ks + c * WPT;
        const uint4* xq = reinterpret_cast<const uint4*>(xs + 128 * i + 32 * t);
        const uint4 x0 = xq[0], x1 = xq[1], x2 = xq[2], x3 = xq[3];
        __syncwarp();  // the stage may be refilled by the next issue
        const unsigned xw[16] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w, x2.x, x2.y, x2.z, x2.w, x3.x, x3.y, x3.z, x3.w};
        float d[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int v = 0; v < 4; v++)
        {
            const unsigned ua = uint4_word(ca, v), ub = uint4_word(cb, v);
#pragma unroll
            for (int h = 0; h < 2; h++)
            {
                const unsigned x0w = xw[2 * v + 8 * h], x1w = xw[2 * v + 8 * h + 1];
                const unsigned b0 = qg4_prmt(x0w, x1w, 0x5410u), b1 = qg4_prmt(x0w, x1w, 0x7632u);
                const unsigned a02 = qg4_lop(h == 0 ? ua << 3 : ua >> 1), a13 = qg4_lop(h == 0 ? ua >> 5 : ua >> 9);
                const unsigned b02 = qg4_lop(h == 0 ? ub << 3 : ub >> 1), b13 = qg4_lop(h == 0 ? ub >> 5 : ub >> 9);
                qg4_mma(d[h], a02, b02, a13, b13, b0, b1);
            }
        }
        const float sx = sxs[i];
        const float SA = 16.f * sA, CA = -sA * (16.f + zA), SB = 16.f * sB, CB = -sB * (16.f + zB);
        acc[0] = fmaf(SA, d[0][0] + d[1][0], fmaf(CA, sx, acc[0]));
        acc[2] = fmaf(SB, d[0][2] + d[1][2], fmaf(CB, sx, acc[2]));
    }
    cp_async_wait<0>();

    // Column 0 of the accumulators (lanes t = 0) is the product with x: rows g (acc[0]) and g + 8 (acc[2]).
    if (t == 0) { part[warp][g] = acc[0]; part[warp][8 + g] = acc[2]; }
    __syncthreads();
    if (GATED)
    {
        if (threadIdx.x < TPB / 2 * 16)
        {
            const int tg = threadIdx.x >> 4, r = threadIdx.x & 15;
            const int row = (blockIdx.x * (TPB / 2) + tg) * 16 + r;
            if (row < (n >> 1))
            {
                float gv = 0.f, uv = 0.f;
#pragma unroll
                for (int q = 0; q < WPT; q++) { gv += part[tg * WPT + q][r]; uv += part[(TPB / 2 + tg) * WPT + q][r]; }
                reinterpret_cast<bf16_t*>(y)[row] = f2bf(act_fn(gv, f32out) * uv);
            }
        }
        return;
    }
    if (threadIdx.x < TPB * 16)
    {
        const int tl = threadIdx.x >> 4, r = threadIdx.x & 15;
        const int row = (blockIdx.x * TPB + tl) * 16 + r;
        if (row < n)
        {
            float v = 0.f;
#pragma unroll
            for (int q = 0; q < WPT; q++) v += part[tl * WPT + q][r];
            if (bias != nullptr) v += bf2f(bias[row]);
            if (f32out) reinterpret_cast<float*>(y)[row] = v;
            else reinterpret_cast<bf16_t*>(y)[row] = f2bf(v);
        }
    }
}

#define QS_KERNEL(TPB, WPT, NS)                                                                                          \
    extern "C" __global__ void __launch_bounds__(TPB * WPT * 32)                                                          \
        qgemv_int4_streamh_t##TPB##_w##WPT##_s##NS(const bf16_t* x, const unsigned char* w, const void* sz,              \
                                                   const bf16_t* bias, void* y, int n, int k, int rowBytes, int groups,   \
                                                   int groupSize, int f32out)                                             \
    { qs_impl<TPB, WPT, NS, false>(x, w, sz, bias, y, n, k, rowBytes, groups, groupSize, f32out); }

// gate|up with the activation as the epilogue: n = 2I rows, y [I] in bf16, act in place of f32out, no bias.
#define QS_GATED_KERNEL(TPB, WPT, NS)                                                                                    \
    extern "C" __global__ void __launch_bounds__(TPB * WPT * 32)                                                          \
        qgemv_int4_streamh_gated_t##TPB##_w##WPT##_s##NS(const bf16_t* x, const unsigned char* w, const void* sz,        \
                                                         bf16_t* y, int n, int k, int rowBytes, int groups,             \
                                                         int groupSize, int act)                                        \
    { qs_impl<TPB, WPT, NS, true>(x, w, sz, nullptr, y, n, k, rowBytes, groups, groupSize, act); }

// The shapes KernelLibrary.QuantGemvStreamShapes lists (MODULAR_QGEMV_STREAM picks among them; see
// CudaQuantizedKernels.StreamShapes for the defaults and what the H100 measured).
QS_KERNEL(2, 4, 5)
QS_KERNEL(1, 4, 8)
QS_KERNEL(2, 8, 4)
QS_GATED_KERNEL(2, 4, 5)
