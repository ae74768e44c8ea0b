// Element-wise and row-copy kernels: conversions, add, bias, embedding, gather, gated activations.

extern "C" __global__ void convert_bf16_f32(const bf16_t* __restrict__ src, float* __restrict__ dst, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dst[i] = bf2f(src[i]);
}

extern "C" __global__ void convert_f16_f32(const f16_t* __restrict__ src, float* __restrict__ dst, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dst[i] = h2f(src[i]);
}

extern "C" __global__ void add_bf16(const bf16_t* a, const bf16_t* b, bf16_t* out, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = f2bf(bf2f(a[i]) + bf2f(b[i]));
}

// out[r, c] += bias[c]
extern "C" __global__ void bias_add_bf16(bf16_t* out, const bf16_t* __restrict__ bias, long long rows, int cols)
{
    const long long n = rows * cols;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = f2bf(bf2f(out[i]) + bf2f(bias[i % cols]));
}

// out[r, c] += bias[c] for float32 outputs (logits) with a bf16 bias.
extern "C" __global__ void bias_add_f32(float* out, const bf16_t* __restrict__ bias, long long rows, int cols)
{
    const long long n = rows * cols;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] += bf2f(bias[i % cols]);
}

// One block per token: out[t] = table[ids[t]] * scale. Out-of-range ids produce NaN rows so they cannot pass silently.
extern "C" __global__ void embedding_bf16(const bf16_t* __restrict__ table, const int* __restrict__ ids, float scale,
                                          bf16_t* __restrict__ out, int hidden, int vocab)
{
    const int t = blockIdx.x;
    const int id = ids[t];
    bf16_t* o = out + (long long)t * hidden;
    if (id < 0 || id >= vocab)
    {
        for (int h = threadIdx.x; h < hidden; h += blockDim.x) o[h] = 0x7fc0;
        return;
    }
    const bf16_t* row = table + (long long)id * hidden;
    for (int h = threadIdx.x; h < hidden; h += blockDim.x) o[h] = f2bf(bf2f(row[h]) * scale);
}

// One block per output row, copying 4-byte words (rows whose byte length is a multiple of 4).
extern "C" __global__ void gather_rows_b32(const unsigned* __restrict__ x, const int* __restrict__ rows,
                                           unsigned* __restrict__ out, int words, int srcRows)
{
    const int r = rows[blockIdx.x];
    unsigned* o = out + (long long)blockIdx.x * words;
    if (r < 0 || r >= srcRows) { for (int i = threadIdx.x; i < words; i += blockDim.x) o[i] = 0x7fc07fc0u; return; }
    const unsigned* s = x + (long long)r * words;
    for (int i = threadIdx.x; i < words; i += blockDim.x) o[i] = s[i];
}

// Byte-wise fallback of gather_rows_b32.
extern "C" __global__ void gather_rows_b8(const unsigned char* __restrict__ x, const int* __restrict__ rows,
                                          unsigned char* __restrict__ out, int bytes, int srcRows)
{
    const int r = rows[blockIdx.x];
    unsigned char* o = out + (long long)blockIdx.x * bytes;
    if (r < 0 || r >= srcRows) { for (int i = threadIdx.x; i < bytes; i += blockDim.x) o[i] = 0xff; return; }
    const unsigned char* s = x + (long long)r * bytes;
    for (int i = threadIdx.x; i < bytes; i += blockDim.x) o[i] = s[i];
}

// Eight bf16 outputs act(g) * u of eight gate and eight up values (16 bytes each), rounded as stored.
__device__ __forceinline__ uint4 act_and_mul8(const uint4 gw, const uint4 uw, int act)
{
    const unsigned* gp = &gw.x;
    const unsigned* up = &uw.x;
    uint4 ow;
    unsigned* op = &ow.x;
#pragma unroll
    for (int w = 0; w < 4; w++)
        op[w] = pack_bf2(act_fn(bf_lo(gp[w]), act) * bf_lo(up[w]), act_fn(bf_hi(gp[w]), act) * bf_hi(up[w]));
    return ow;
}

// out[t, j] = act(gateUp[t, j]) * gateUp[t, I + j]. Eight outputs per thread with 16-byte loads when I % 8 == 0
// and both tensors are 16-byte aligned, with 32-bit index math: a 64-bit division per element made this kernel 8x slower than its
// memory traffic (H200, W2 decode at batch 512).
extern "C" __global__ void act_and_mul_bf16(const bf16_t* __restrict__ gateUp, bf16_t* __restrict__ out,
                                            long long tokens, int inter, int act)
{
    if ((inter & 7) == 0 && tokens * (inter >> 3) < 0x7fffffffll && aligned16(gateUp, out))
    {
        const unsigned per = (unsigned)inter >> 3, n8 = (unsigned)(tokens * per);
        for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n8; i += gridDim.x * blockDim.x)
        {
            const unsigned t = i / per, j8 = i - t * per;
            const bf16_t* row = gateUp + (long long)t * 2 * inter + j8 * 8;
            *reinterpret_cast<uint4*>(out + (long long)t * inter + j8 * 8) =
                act_and_mul8(*reinterpret_cast<const uint4*>(row), *reinterpret_cast<const uint4*>(row + inter), act);
        }
        return;
    }
    const long long n = tokens * inter;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        const long long t = i / inter;
        const int j = (int)(i - t * inter);
        const bf16_t* row = gateUp + t * 2 * inter;
        out[i] = f2bf(act_fn(bf2f(row[j]), act) * bf2f(row[inter + j]));
    }
}

// MODULAR_CUDA_PROFILE's hold (LaunchProfiler): keeps the stream busy for ns nanoseconds, so the host has enqueued the
// timed launch before the stream reaches its start event.
extern "C" __global__ void profile_hold(unsigned long long ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do
    {
        asm volatile("nanosleep.u32 2000;");
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
}
