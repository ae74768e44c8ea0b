// Tensor-core decode attention over the paged KV cache (FlashDecoding with the GQA group as the MMA's rows).
//
// Same arguments and semantics as paged_attention_gqa plus an optional row map, grid (Hk, rows, splits): one block
// per (KV head, query row, split); the block sees keys [kBegin, kEnd) of its row (causal, sliding window and split already folded into
// the range) and writes either the output rows of the G = Hq/Hk query heads or their unnormalized split partials.
//
// Why tensor cores for decode: with the CUDA-core kernel each key costs G dot products, G shuffle reductions and an
// online-softmax rescale of G accumulators per lane, so large decode batches ran at about half the copy bandwidth
// (H200, W2: 687 us per layer-step). Here the G query heads are the rows of an m16n8k16 tile (rows >= G are zero, the
// tensor cores have throughput to spare) and a warp handles 16 keys per MMA pass: S = Q K^T is 16 MMAs, O += P V 16
// more, and the softmax touches one fragment per 16 keys. What is left is moving K and V: 64-key tiles are gathered
// through the block table with cp.async into a two-stage shared-memory ring (16-byte chunks XOR-swizzled per row so
// ldmatrix is conflict-free, as in flash_attention.cu), the next tile in flight while this one is used. Keys past
// the end are zero-filled by cp.async's source size (cp_async16 of common.cuh), so masked keys carry no stale
// NaN into P V. Each warp loads and consumes its own 16-key stripe of every tile, so the loop has no block barrier.
//
// 4 warps; warp w owns keys [16w, 16w + 16) of each tile and keeps its own running (max, sum, O); the warps merge
// through shared memory at the end. Dynamic shared memory: DEC_STAGES x (K + V) x 64 x HD bf16 (64 KiB for HD 128);
// with an FP8 cache one bf16 tile plus DEC_FP8_STAGES x (K + V) x 64 x HD codes (64 KiB for HD 128; see paged_decode_tc).
// Two stages: W2 on the H200 ran at 9,910 / 9,721 output tok/s with 2 / 3 (and 8,366 with 4 in an earlier build);
// deeper rings cost resident blocks. KV heads vary fastest in the grid, so the Hk blocks of a row read its whole
// [Hk, HD] cache rows together; measured before the loads were coalesced, rows-first was no different (W2 8,557 vs
// 8,541 tok/s).
// Tried and dropped (H100, W1 Llama-8B, two runs each in one call): this kernel storing single-token rows' K/V
// itself and the last split block merging the partials (no reshape_and_cache / combine launch): 165.8-166.6 tok/s
// against 168.5-169.0 with the two extra launches; both moved work onto the critical path of one block.

#define DEC_KEYS 64
#define DEC_THREADS 128
#define DEC_STAGES 2
#define DEC_FP8_STAGES 3

// Element offset of 16-byte chunk `chunk` of shared row `row` with HD/8 chunks per row; the XOR spreads the eight
// rows an ldmatrix reads over distinct bank groups.
template <int HD>
__device__ __forceinline__ int dec_swz(int row, int chunk) { return row * HD + ((chunk ^ (row & 7)) << 3); }

// KV = bf16_t: the cache is bf16 and tiles move with cp.async into a DEC_STAGES ring. KV = unsigned char: the cache
// is FP8 e4m3fn (half the bytes, which is what a decode step is bound by); the codes move with cp.async into their
// own ring and are widened to bf16 (e4m3x16_to_bf16x16) in shared memory, so the tensor-core part is the same.
template <int HD, typename KV>
__device__ void paged_decode_tc(const bf16_t* __restrict__ q, const KV* __restrict__ kc,
    const KV* __restrict__ vc, bf16_t* __restrict__ out, const int* __restrict__ tokenSeq,
    const int* __restrict__ qStart, const int* __restrict__ seqLens, const int* __restrict__ blockTables,
    int maxBlocks, int blockSize, int hq, int hk, float scale, int window, int splits, int chunk,
    float* __restrict__ partM, float* __restrict__ partL, float* __restrict__ partAcc, const int* __restrict__ rowMap)
{
    constexpr int STAGES = DEC_STAGES;
    constexpr int KSTEPS = HD / 16;   // k16 steps of S = Q K^T; also 16-dim pairs of O
    constexpr int CHUNKS = HD / 8;    // 16-byte chunks per K/V row
    constexpr int STAGE = 2 * DEC_KEYS * HD;  // bf16 elements per stage (K then V)
    extern __shared__ __align__(128) bf16_t dec_smem[];

    // rowMap (optional): the step's rows this launch serves, the short-query rows of a step whose long queries run
    // the prefill kernel (CudaAttention.Forward); without it, every row of the step.
    const int kvh = blockIdx.x, t = rowMap ? rowMap[blockIdx.y] : blockIdx.y;
    const int split = blockIdx.z;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t4 = lane & 3;
    const int G = hq / hk;
    const RowKeys rk = row_keys(t, split, chunk, window, tokenSeq, qStart, seqLens);
    const int s = rk.seq, kBegin = rk.kBegin, kEnd = rk.kEnd;
    const int nTiles = kEnd > kBegin ? (kEnd - kBegin + DEC_KEYS - 1) / DEC_KEYS : 0;
    const int h0 = kvh * G;

    // A fragments of Q (rows = query heads of the group, zero beyond G), straight from global memory.
    unsigned qa[KSTEPS][4];
    {
        const bf16_t* q0p = q + ((long long)t * hq + h0) * HD;
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++)
        {
            const int c = kk * 16 + t4 * 2;
            qa[kk][0] = g < G ? *reinterpret_cast<const unsigned*>(q0p + g * HD + c) : 0u;
            qa[kk][1] = g + 8 < G ? *reinterpret_cast<const unsigned*>(q0p + (g + 8) * HD + c) : 0u;
            qa[kk][2] = g < G ? *reinterpret_cast<const unsigned*>(q0p + g * HD + c + 8) : 0u;
            qa[kk][3] = g + 8 < G ? *reinterpret_cast<const unsigned*>(q0p + (g + 8) * HD + c + 8) : 0u;
        }
    }

    const float sl2 = scale * 1.4426950408889634f;  // softmax in base 2
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};
    float o[2 * KSTEPS][4];
#pragma unroll
    for (int d = 0; d < 2 * KSTEPS; d++) { o[d][0] = 0.f; o[d][1] = 0.f; o[d][2] = 0.f; o[d][3] = 0.f; }

    const int mi = lane >> 3, r8 = lane & 7;
    // One 64-key tile of this warp's stripe from shared memory: S = Q K^T and the online softmax, leaving P as an A
    // fragment in pa (then attendV: O += P V).
    auto scores = [&](const bf16_t* sK, int i, unsigned* pa) {
        float sc[2][4];
#pragma unroll
        for (int j = 0; j < 2; j++) { sc[j][0] = 0.f; sc[j][1] = 0.f; sc[j][2] = 0.f; sc[j][3] = 0.f; }
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++)
        {
            unsigned b0, b1, b2, b3;
            fa_ldsm4(smem_addr(sK + dec_swz<HD>(warp * 16 + r8 + (mi >> 1) * 8, kk * 2 + (mi & 1))), b0, b1, b2, b3);
            fa_mma(sc[0], qa[kk], b0, b1);
            fa_mma(sc[1], qa[kk], b2, b3);
        }

        // Online softmax of this warp's 16 keys; rows g and g + 8 of the fragment.
        const int keyBase = kBegin + i * DEC_KEYS + warp * 16;
        float mx[2] = {NEG_INF, NEG_INF};
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                const float v = keyBase + j * 8 + t4 * 2 + (e & 1) < kEnd ? sc[j][e] * sl2 : NEG_INF;
                sc[j][e] = v;
                mx[e >> 1] = fmaxf(mx[e >> 1], v);
            }
        float corr[2], base[2], sum[2] = {0.f, 0.f};
#pragma unroll
        for (int r = 0; r < 2; r++)
        {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            const float mNew = fmaxf(m[r], mx[r]);
            base[r] = mNew == NEG_INF ? 0.f : mNew;  // nothing visible yet: p stays 0
            corr[r] = exp2f(m[r] - base[r]);
            m[r] = mNew;
        }
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                const float p = exp2f(sc[j][e] - base[e >> 1]);
                sc[j][e] = p;
                sum[e >> 1] += p;
            }
#pragma unroll
        for (int r = 0; r < 2; r++)
        {
            sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 1);
            sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 2);
            l[r] = l[r] * corr[r] + sum[r];
        }
#pragma unroll
        for (int d = 0; d < 2 * KSTEPS; d++)
        {
            o[d][0] *= corr[0]; o[d][1] *= corr[0];
            o[d][2] *= corr[1]; o[d][3] *= corr[1];
        }

        pa[0] = fa_pack(sc[0][0], sc[0][1]);
        pa[1] = fa_pack(sc[0][2], sc[0][3]);
        pa[2] = fa_pack(sc[1][0], sc[1][1]);
        pa[3] = fa_pack(sc[1][2], sc[1][3]);
    };
    // O += P V for the same stripe.
    auto attendV = [&](const bf16_t* sV, const unsigned* pa) {
#pragma unroll
        for (int dp = 0; dp < KSTEPS; dp++)
        {
            unsigned b0, b1, b2, b3;
            fa_ldsm4_t(smem_addr(sV + dec_swz<HD>(warp * 16 + r8 + (mi & 1) * 8, dp * 2 + (mi >> 1))), b0, b1, b2, b3);
            fa_mma(o[2 * dp], pa, b0, b1);
            fa_mma(o[2 * dp + 1], pa, b2, b3);
        }
    };

    const int* bt = blockTables + (long long)s * maxBlocks;
    const long long rowStride = (long long)hk * HD;
    // Lane l (and l + 16) looks up the cache slot of the warp's key l of a tile; -1 past the end.
    auto slotOf = [&](int tile) {
        const int key = kBegin + tile * DEC_KEYS + warp * 16 + (lane & 15);
        return key < kEnd ? bt[key / blockSize] * blockSize + key % blockSize : -1;
    };
    if constexpr (sizeof(KV) == 2)
    {
        // Loader: each warp copies exactly the 16 keys it computes on, so warps never wait for one another inside the
        // loop (only __syncwarp). Lane l < 16 looks up the slot of the warp's key l; a copy instruction then moves
        // 32 / CHUNKS whole rows, each row's 16-byte chunks on consecutive lanes. Coalescing is what matters here: with
        // each row split across two threads, every copy instruction touched 32 different 128-byte lines and W2's decode
        // attention took 570 us per layer-step (2.3 TB/s); with whole rows per lane group, 318 us (4.2 TB/s, the copy rate).
        constexpr int RPI = 32 / CHUNKS;  // rows per copy instruction
        const int sub = lane / CHUNKS, ch = lane % CHUNKS;
        auto issue = [&](int tile) {  // bf16 cache only
            const int mySlot = slotOf(tile);
            bf16_t* sK = dec_smem + (tile % STAGES) * STAGE;
            bf16_t* sV = sK + DEC_KEYS * HD;
#pragma unroll
            for (int it = 0; it < 16 / RPI; it++)
            {
                const int r = it * RPI + sub;
                const int slot = __shfl_sync(0xffffffffu, mySlot, r);
                const long long off = (long long)max(slot, 0) * rowStride + (long long)kvh * HD + ch * 8;
                const int bytes = slot >= 0 ? 16 : 0;
                cp_async16(smem_addr(sK + dec_swz<HD>(warp * 16 + r, ch)), kc + off, bytes);
                cp_async16(smem_addr(sV + dec_swz<HD>(warp * 16 + r, ch)), vc + off, bytes);
            }
        };

        // Tiles 0 .. STAGES-2 in flight before the loop; iteration i issues tile i + STAGES - 1. One commit group per
        // tile slot, empty ones included, so "all but the newest STAGES - 1 groups" always means tile i.
#pragma unroll
        for (int p = 0; p < STAGES - 1; p++)
        {
            if (p < nTiles) issue(p);
            cp_async_commit();
        }
        for (int i = 0; i < nTiles; i++)
        {
            if (i + STAGES - 1 < nTiles) issue(i + STAGES - 1);
            cp_async_commit();
            cp_async_wait<STAGES - 1>();
            __syncwarp();   // every lane's copies of this warp's rows of tile i have landed
            const bf16_t* sK = dec_smem + (i % STAGES) * STAGE;
            unsigned pa[4];
            scores(sK, i, pa);
            attendV(sK + DEC_KEYS * HD, pa);
            __syncwarp();   // this warp's rows of stage i % STAGES are refilled by its next issue
        }
    }
    else
    {
        // FP8: a row is HD bytes, FCH 16-byte chunks; FRPI rows per copy instruction, FIT instructions per stripe.
        // The codes travel by cp.async into a FP8_STAGES ring (no registers held, two tiles ahead: the bytes in
        // flight per warp match the bf16 ring's while each is worth twice the keys), and each lane widens the
        // chunks it copied itself into one bf16 buffer of the warp's 16 rows, first K, then (after S) V.
        // A first version staged one tile ahead in registers: W2 9,698 output tok/s against 9,419 with bf16.
        constexpr int FCH = HD / 16, FRPI = 32 / FCH, FIT = 16 / FRPI;
        const int fsub = lane / FCH, fch = lane % FCH;
        bf16_t* sBuf = dec_smem;  // [64][HD] bf16, rows warp * 16 .. + 15 are this warp's
        unsigned char* raw = reinterpret_cast<unsigned char*>(dec_smem + DEC_KEYS * HD);  // [stage][warp][K|V][16][HD]
        auto stage = [&](int tile) { return raw + ((tile % DEC_FP8_STAGES) * 4 + warp) * 2 * 16 * HD; };
        auto issue = [&](int tile) {
            const int mySlot = slotOf(tile);
            unsigned char* st = stage(tile);
#pragma unroll
            for (int it = 0; it < FIT; it++)
            {
                const int r = it * FRPI + fsub;
                const int slot = __shfl_sync(0xffffffffu, mySlot, r);
                const long long off = (long long)max(slot, 0) * rowStride + (long long)kvh * HD + fch * 16;
                const int bytes = slot >= 0 ? 16 : 0;  // keys past the end land as zeros (no stale NaN meets P = 0)
                cp_async16(smem_addr(st + r * HD + fch * 16), kc + off, bytes);
                cp_async16(smem_addr(st + (16 + r) * HD + fch * 16), vc + off, bytes);
            }
        };
        auto widen = [&](const unsigned char* src) {
#pragma unroll
            for (int it = 0; it < FIT; it++)
            {
                const int r = it * FRPI + fsub;
                uint4 lo, hi;
                e4m3x16_to_bf16x16(*reinterpret_cast<const uint4*>(src + r * HD + fch * 16), lo, hi);
                *reinterpret_cast<uint4*>(sBuf + dec_swz<HD>(warp * 16 + r, 2 * fch)) = lo;
                *reinterpret_cast<uint4*>(sBuf + dec_swz<HD>(warp * 16 + r, 2 * fch + 1)) = hi;
            }
        };
#pragma unroll
        for (int p = 0; p < DEC_FP8_STAGES - 1; p++)
        {
            if (p < nTiles) issue(p);
            cp_async_commit();
        }
        for (int i = 0; i < nTiles; i++)
        {
            if (i + DEC_FP8_STAGES - 1 < nTiles) issue(i + DEC_FP8_STAGES - 1);
            cp_async_commit();
            cp_async_wait<DEC_FP8_STAGES - 1>();  // this lane's copies of tile i have landed
            const unsigned char* st = stage(i);
            widen(st);
            __syncwarp();   // the warp's K rows are bf16 in sBuf
            unsigned pa[4];
            scores(sBuf, i, pa);
            __syncwarp();   // and read
            widen(st + 16 * HD);
            __syncwarp();
            attendV(sBuf, pa);
            __syncwarp();   // sBuf is free for the next tile's K
        }
    }

    // Merge the four warps' partial softmaxes in the ring's memory, once every warp is done with it.
    __syncthreads();
    float* sO = reinterpret_cast<float*>(dec_smem);             // [4][16][HD]
    float* sM = sO + 4 * 16 * HD;                               // [4][16]
    float* sL = sM + 4 * 16;                                    // [4][16]
    if (t4 == 0)
    {
        sM[warp * 16 + g] = m[0]; sL[warp * 16 + g] = l[0];
        sM[warp * 16 + g + 8] = m[1]; sL[warp * 16 + g + 8] = l[1];
    }
#pragma unroll
    for (int d = 0; d < 2 * KSTEPS; d++)
    {
        const int c = d * 8 + t4 * 2;
        sO[(warp * 16 + g) * HD + c] = o[d][0];
        sO[(warp * 16 + g) * HD + c + 1] = o[d][1];
        sO[(warp * 16 + g + 8) * HD + c] = o[d][2];
        sO[(warp * 16 + g + 8) * HD + c + 1] = o[d][3];
    }
    __syncthreads();
    for (int idx = tid; idx < G * HD; idx += DEC_THREADS)
    {
        const int row = idx / HD, d = idx % HD;
        float M = NEG_INF;
#pragma unroll
        for (int w = 0; w < 4; w++) M = fmaxf(M, sM[w * 16 + row]);
        float L = 0.f, a = 0.f;
#pragma unroll
        for (int w = 0; w < 4; w++)
        {
            const float mw = sM[w * 16 + row];
            if (mw == NEG_INF) continue;
            const float f = exp2f(mw - M);
            L += sL[w * 16 + row] * f;
            a += sO[(w * 16 + row) * HD + d] * f;
        }
        const long long orow = (long long)t * hq + h0 + row;
        if (splits == 1) out[orow * HD + d] = f2bf(L > 0.f ? a / L : 0.f);
        else
        {
            partAcc[(orow * splits + split) * HD + d] = a;
            // The combine kernel works in natural-log units: max2 * ln 2.
            if (d == 0) { partM[orow * splits + split] = M == NEG_INF ? NEG_INF : M * 0.6931471805599453f; partL[orow * splits + split] = L; }
        }
    }
}

#define DECODE_TC(NAME, HD, KV)                                                                                 \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS) NAME(                                              \
        const bf16_t* q, const KV* kc, const KV* vc, bf16_t* out, const int* tokenSeq, const int* qStart,         \
        const int* seqLens, const int* blockTables, int maxBlocks, int blockSize, int hq, int hk, int headDim,     \
        float scale, int window, int splits, int chunk, float* partM, float* partL, float* partAcc,               \
        const int* rowMap)                                                                                       \
    {                                                                                                            \
        paged_decode_tc<HD, KV>(q, kc, vc, out, tokenSeq, qStart, seqLens, blockTables, maxBlocks, blockSize, hq, \
                                hk, scale, window, splits, chunk, partM, partL, partAcc, rowMap);                \
    }

DECODE_TC(paged_decode_tc_64, 64, bf16_t)
DECODE_TC(paged_decode_tc_128, 128, bf16_t)
DECODE_TC(paged_decode_tc_fp8_64, 64, unsigned char)
DECODE_TC(paged_decode_tc_fp8_128, 128, unsigned char)
