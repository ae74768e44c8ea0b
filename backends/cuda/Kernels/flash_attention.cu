// Tensor-core prefill attention (FlashAttention-2 style) for head dim 128 over the paged KV cache.
// grid (tiles, Hq), 4 warps. A tile is up to 64 consecutive query rows of one sequence; each warp owns 16 of them.
// Per 64-key tile of the sequence's cache: K and V are gathered through the block table into shared memory with
// cp.async (16-byte chunks XOR-swizzled by row so ldmatrix reads are conflict-free), S = Q K^T and O += P V run on
// mma.sync m16n8k16 (bf16 operands, float32 accumulators), and the softmax is the online (running max) form in
// registers: the S accumulator fragment of two key blocks is exactly the A fragment of P for the next product.
// Pipeline (one K and one V buffer, two barriers per key tile): V of tile j is copied while S = Q K_j runs, K of
// tile j+1 while the softmax and O += P V_j run, so each load hides behind half a tile of tensor-core work. The
// cache slot of each key row is computed once per tile (one thread per row, one division) into shared memory a tile
// ahead of its copies. 32.5 KB of static shared memory: Q is staged in the V buffer and then kept in registers.

#define FA_D 128
#define FA_BM 64
#define FA_BN 64
#define FA_THREADS 128

__device__ __forceinline__ void fa_ldsm4(unsigned addr, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

__device__ __forceinline__ void fa_ldsm4_t(unsigned addr, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

__device__ __forceinline__ void fa_mma(float* c, const unsigned* a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats to a bf16x2 word, lo in the low half (the lower column index).
__device__ __forceinline__ unsigned fa_pack(float lo, float hi)
{
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// Element offset of the 16-byte chunk `chunk` (0..15) of shared row `row` (128 bf16 per row).
__device__ __forceinline__ int fa_swz(int row, int chunk) { return row * FA_D + ((chunk ^ (row & 7)) << 3); }

// Cache slot of `key` through the sequence's block table, or -1 past the last visible key (its rows load as zeros,
// so V never feeds garbage - possibly NaN - into O even though P is 0 there).
__device__ __forceinline__ int fa_slot(const int* bt, int key, int kHi, int blockSize)
{
    if (key >= kHi) return -1;
    const int b = key / blockSize;
    return bt[b] * blockSize + (key - b * blockSize);
}

// Issues the copies of one 64-row key tile (K or V of head `base`) into `dst`: thread tid moves chunk tid & 15 of
// rows tid / 16 + 8 i, so 16 threads read one 256-byte cache row contiguously.
__device__ __forceinline__ void fa_load_tile(bf16_t* dst, const bf16_t* base, const int* slots, long long rowStride, int tid)
{
    const int ch = tid & 15;
#pragma unroll
    for (int i = 0; i < FA_BN * 16 / FA_THREADS; i++)
    {
        const int r = (tid >> 4) + i * (FA_THREADS / 16);
        const int slot = slots[r];
        const bf16_t* src = base + (slot < 0 ? 0LL : (long long)slot * rowStride) + ch * 8;
        cp_async16(smem_addr(dst + fa_swz(r, ch)), src, slot < 0 ? 0 : 16);
    }
}

// FP8 cache: one 64-row tile of e4m3 codes (128 bytes per row) into registers, thread tid taking 16-byte chunk
// tid & 7 of rows tid / 8 + 16 i (8 threads per row, contiguous); rows past the end as zeros.
__device__ __forceinline__ void fa8_fetch(uint4 (&reg)[4], const unsigned char* base, const int* slots, long long rowStride, int tid)
{
    const int ch = tid & 7;
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        const int slot = slots[(tid >> 3) + i * (FA_THREADS / 8)];
        const uint4 zero = {0u, 0u, 0u, 0u};
        reg[i] = slot < 0 ? zero : *reinterpret_cast<const uint4*>(base + (long long)slot * rowStride + ch * 16);
    }
}

// The fetched codes widened to bf16 into the swizzled tile (16-byte chunks 2 ch and 2 ch + 1 of each row).
__device__ __forceinline__ void fa8_land(bf16_t* dst, const uint4 (&reg)[4], int tid)
{
    const int ch = tid & 7;
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        const int r = (tid >> 3) + i * (FA_THREADS / 8);
        uint4 lo, hi;
        e4m3x16_to_bf16x16(reg[i], lo, hi);
        *reinterpret_cast<uint4*>(dst + fa_swz(r, 2 * ch)) = lo;
        *reinterpret_cast<uint4*>(dst + fa_swz(r, 2 * ch + 1)) = hi;
    }
}

// KV = bf16_t: cp.async tiles as described above. KV = unsigned char (FP8 e4m3 cache): each tile is loaded into
// registers where the bf16 version issues its copies and widened into shared memory where that version waits for
// them, so the loads still overlap half a tile of tensor-core work and everything after the shared-memory tile is
// the same.
template <typename KV>
__device__ __forceinline__ void flash_prefill_impl(const bf16_t* __restrict__ q, const KV* __restrict__ kc, const KV* __restrict__ vc,
                  bf16_t* __restrict__ out, const int* __restrict__ tiles, const int* __restrict__ qStart,
                  const int* __restrict__ seqLens, const int* __restrict__ blockTables, int maxBlocks, int blockSize,
                  int hq, int hk, float scale, int window)
{
    constexpr bool FP8 = sizeof(KV) == 1;
    static_assert(FA_BM == FA_BN, "the Q tile is staged in the V buffer");
    static_assert(FA_BN * 16 % FA_THREADS == 0 && FA_BN <= FA_THREADS, "tile copy and slot mappings");
    __shared__ __align__(128) bf16_t sK[FA_BN * FA_D];
    __shared__ __align__(128) bf16_t sV[FA_BN * FA_D];  // first the Q tile (read once into registers), then V
    __shared__ int sSlot[2][FA_BN];                    // cache slots of the key rows, double-buffered by tile
    const int h = blockIdx.y;
    const int s = tiles[2 * blockIdx.x], row0 = tiles[2 * blockIdx.x + 1];
    const int q0 = qStart[s], qLen = qStart[s + 1] - q0;
    const int rows = min(FA_BM, q0 + qLen - row0);
    const int posBase = seqLens[s] - qLen + (row0 - q0);
    const int kvh = h / (hq / hk);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t4 = lane & 3;

    // Keys any row of the tile sees: [kLo, kHi), walked in 64-key tiles (at least one: kLo <= posBase < kHi).
    const int kLo = window > 0 ? max(0, posBase - window + 1) : 0;
    const int kHi = posBase + rows;
    const int nTiles = (kHi - kLo + FA_BN - 1) / FA_BN;
    const int* bt = blockTables + (long long)s * maxBlocks;
    const long long rowStride = (long long)hk * FA_D;
    const KV* kBase = kc + (long long)kvh * FA_D;
    const KV* vBase = vc + (long long)kvh * FA_D;
    uint4 reg[4];  // FP8 only: the tile in flight

    // Prologue: slots of key tile 0; Q (rows past the tile's end as zeros) into sV and K_0 into sK as one group.
    if (tid < FA_BN) sSlot[0][tid] = fa_slot(bt, kLo + tid, kHi, blockSize);
    {
        const int ch = tid & 15;
        const long long qStride = (long long)hq * FA_D;
        const bf16_t* qBase = q + ((long long)row0 * hq + h) * FA_D + ch * 8;
#pragma unroll
        for (int i = 0; i < FA_BM * 16 / FA_THREADS; i++)
        {
            const int r = (tid >> 4) + i * (FA_THREADS / 16);
            cp_async16(smem_addr(sV + fa_swz(r, ch)), qBase + (r < rows ? r * qStride : 0LL), r < rows ? 16 : 0);
        }
    }
    __syncthreads();  // sSlot[0] is written
    if constexpr (FP8) fa8_fetch(reg, kBase, sSlot[0], rowStride, tid);
    else fa_load_tile(sK, kBase, sSlot[0], rowStride, tid);
    cp_async_commit();
    cp_async_wait<0>();
    if constexpr (FP8) fa8_land(sK, reg, tid);
    __syncthreads();  // Q and K_0 have landed for every thread
    unsigned qa[8][4];
    {
        const int mi = lane >> 3, r = lane & 7;
        const int row = warp * 16 + r + (mi & 1) * 8;
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
            fa_ldsm4(smem_addr(sV + fa_swz(row, kk * 2 + (mi >> 1))), qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3]);
    }

    // This thread's two rows (g and g+8 of the warp's 16): positions and visible key ranges.
    int pos[2], lo[2];
#pragma unroll
    for (int i = 0; i < 2; i++)
    {
        const int r = warp * 16 + g + i * 8;
        pos[i] = r < rows ? posBase + r : -1;
        lo[i] = window > 0 ? max(0, pos[i] - window + 1) : 0;
    }
    // Lowest key the tile's last row sees: key tiles from here up to posBase (the first row) need no mask.
    const int loLast = window > 0 ? max(0, kHi - window) : 0;
    const float sl2 = scale * 1.4426950408889634f;
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};
    float o[16][4];
#pragma unroll
    for (int d = 0; d < 16; d++) { o[d][0] = 0.f; o[d][1] = 0.f; o[d][2] = 0.f; o[d][3] = 0.f; }

    for (int tile = 0; tile < nTiles; tile++)
    {
        const int kt = kLo + tile * FA_BN, buf = tile & 1;
        // K of this tile has landed (the only group in flight); every thread is done reading the previous tile's V
        // (or Q) in sV and sSlot[buf ^ 1] (read by the copies of this tile's K and of the previous tile's V).
        cp_async_wait<0>();
        if constexpr (FP8)
            if (tile > 0) fa8_land(sK, reg, tid);  // K of this tile, fetched during the previous one
        __syncthreads();
        if constexpr (FP8) fa8_fetch(reg, vBase, sSlot[buf], rowStride, tid);
        else
        {
            fa_load_tile(sV, vBase, sSlot[buf], rowStride, tid);
            cp_async_commit();
        }
        if (tid < FA_BN && tile + 1 < nTiles) sSlot[buf ^ 1][tid] = fa_slot(bt, kt + FA_BN + tid, kHi, blockSize);

        float sc[8][4];
#pragma unroll
        for (int j = 0; j < 8; j++) { sc[j][0] = 0.f; sc[j][1] = 0.f; sc[j][2] = 0.f; sc[j][3] = 0.f; }
        {
            const int mi = lane >> 3, r = lane & 7;
#pragma unroll
            for (int kk = 0; kk < 8; kk++)
            {
#pragma unroll
                for (int np = 0; np < 4; np++)
                {
                    unsigned b0, b1, b2, b3;
                    fa_ldsm4(smem_addr(sK + fa_swz(np * 16 + r + (mi >> 1) * 8, kk * 2 + (mi & 1))), b0, b1, b2, b3);
                    fa_mma(sc[2 * np], qa[kk], b0, b1);
                    fa_mma(sc[2 * np + 1], qa[kk], b2, b3);
                }
            }
        }

        float mx[2] = {NEG_INF, NEG_INF};
        if (kt >= loLast && kt + FA_BN - 1 <= posBase)
        {
            // Every row sees every key of this tile: no mask. (Padding rows too, harmlessly: their Q is zero, their
            // statistics never mix with other rows', and they are never stored.)
#pragma unroll
            for (int j = 0; j < 8; j++)
            {
#pragma unroll
                for (int e = 0; e < 4; e++)
                {
                    sc[j][e] *= sl2;
                    mx[e >> 1] = fmaxf(mx[e >> 1], sc[j][e]);
                }
            }
        }
        else
        {
#pragma unroll
            for (int j = 0; j < 8; j++)
            {
#pragma unroll
                for (int e = 0; e < 4; e++)
                {
                    const int i = e >> 1, key = kt + j * 8 + t4 * 2 + (e & 1);
                    const float v = (key <= pos[i] && key >= lo[i]) ? sc[j][e] * sl2 : NEG_INF;
                    sc[j][e] = v;
                    mx[i] = fmaxf(mx[i], v);
                }
            }
        }
        float corr[2], base[2];
#pragma unroll
        for (int i = 0; i < 2; i++)
        {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            const float mNew = fmaxf(m[i], mx[i]);
            base[i] = mNew == NEG_INF ? 0.f : mNew;  // a row with nothing visible yet keeps p = 0
            corr[i] = exp2f(m[i] - base[i]);
            m[i] = mNew;
        }
        float sum[2] = {0.f, 0.f};
#pragma unroll
        for (int j = 0; j < 8; j++)
        {
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                const float p = exp2f(sc[j][e] - base[e >> 1]);
                sc[j][e] = p;
                sum[e >> 1] += p;
            }
        }
        // V of this tile has landed (the only group in flight); every thread is done reading its K, so the next
        // tile's K may overwrite it, and sSlot[buf ^ 1] (written above) is visible.
        cp_async_wait<0>();
        if constexpr (FP8) fa8_land(sV, reg, tid);
        __syncthreads();
        if (tile + 1 < nTiles)
        {
            if constexpr (FP8) fa8_fetch(reg, kBase, sSlot[buf ^ 1], rowStride, tid);
            else
            {
                fa_load_tile(sK, kBase, sSlot[buf ^ 1], rowStride, tid);
                cp_async_commit();
            }
        }
#pragma unroll
        for (int i = 0; i < 2; i++)
        {
            sum[i] += __shfl_xor_sync(0xffffffffu, sum[i], 1);
            sum[i] += __shfl_xor_sync(0xffffffffu, sum[i], 2);
            l[i] = l[i] * corr[i] + sum[i];
        }
#pragma unroll
        for (int d = 0; d < 16; d++)
        {
            o[d][0] *= corr[0]; o[d][1] *= corr[0];
            o[d][2] *= corr[1]; o[d][3] *= corr[1];
        }

        {
            const int mi = lane >> 3, r = lane & 7;
#pragma unroll
            for (int kk = 0; kk < 4; kk++)
            {
                unsigned pa[4];
                pa[0] = fa_pack(sc[2 * kk][0], sc[2 * kk][1]);
                pa[1] = fa_pack(sc[2 * kk][2], sc[2 * kk][3]);
                pa[2] = fa_pack(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
                pa[3] = fa_pack(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
                for (int dp = 0; dp < 8; dp++)
                {
                    unsigned b0, b1, b2, b3;
                    fa_ldsm4_t(smem_addr(sV + fa_swz(kk * 16 + r + (mi & 1) * 8, dp * 2 + (mi >> 1))), b0, b1, b2, b3);
                    fa_mma(o[2 * dp], pa, b0, b1);
                    fa_mma(o[2 * dp + 1], pa, b2, b3);
                }
            }
        }
    }

#pragma unroll
    for (int i = 0; i < 2; i++)
    {
        const int r = warp * 16 + g + i * 8;
        if (r >= rows) continue;
        const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;
        bf16_t* orow = out + ((long long)(row0 + r) * hq + h) * FA_D + t4 * 2;
#pragma unroll
        for (int d = 0; d < 16; d++)
            *reinterpret_cast<unsigned*>(orow + d * 8) = fa_pack(o[d][2 * i] * inv, o[d][2 * i + 1] * inv);
    }
}

#define FLASH_PREFILL(NAME, KV)                                                                                      \
    extern "C" __global__ void __launch_bounds__(FA_THREADS, 2)                                                       \
        NAME(const bf16_t* q, const KV* kc, const KV* vc, bf16_t* out, const int* tiles, const int* qStart,           \
             const int* seqLens, const int* blockTables, int maxBlocks, int blockSize, int hq, int hk, float scale,    \
             int window)                                                                                              \
    { flash_prefill_impl<KV>(q, kc, vc, out, tiles, qStart, seqLens, blockTables, maxBlocks, blockSize, hq, hk, scale, window); }

FLASH_PREFILL(flash_prefill_128, bf16_t)
FLASH_PREFILL(flash_prefill_fp8_128, unsigned char)
