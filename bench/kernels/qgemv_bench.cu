// Standalone timing of the Int4 decode GEMVs on the W1 projection shapes of Llama-3.1-8B (GPTQ g128, M = 1), for
// kernel A/B runs on the device machine without the .NET stack. Timing reads the row-major codes as if tiled (the
// bytes' order does not change the cost); the correctness check repacks layer 0 with int4_tile_repack. Built by bench/kernels/qgemv_bench.sh, which puts
// the backend's kernel sources (common.cuh, flash_attention.cu's neighbours are not needed) in front of this file.
// Each shape is timed as a CUDA graph of 32 launches over 32 distinct layers' weights (as a decode step sees them:
// nothing in L2), median of 30 replays; every variant's output is compared with qgemv_int4_mma_r1's.
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(1); } } while (0)

struct Shape { const char* name; int n, k; };
static const Shape kShapes[] = {{"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 28672, 4096}, {"down", 4096, 14336}};
static const int kLayers = 32, kGroup = 128;

// kind 0: qgemv_int4_mma_* (row-major or tiled codes, row-major scales); 1: qgemv_int4_streamh_* (tiled codes and the
// tiled f16 scale|zero array); 2: a plain read of the codes (the bound).
enum { kMma = 0, kStream = 1, kReadBound = 2 };
struct Variant { const char* name; void* fn; int kind; int tpb, wpt, ns; int tiles, warps; int tiled; };

__global__ void read_bound(const uint4* __restrict__ p, long long n16, unsigned* out)
{
    unsigned acc = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n16; i += (long long)gridDim.x * blockDim.x)
    {
        const uint4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u) *out = acc;
}

#define OLD(NAME, TILES, WARPS, TILED) {#NAME, (void*)NAME, kMma, 0, 0, 0, TILES, WARPS, TILED}
#define NEWH(TPB, WPT, NS) {"streamh_t" #TPB "_w" #WPT "_s" #NS, (void*)qgemv_int4_streamh_t##TPB##_w##WPT##_s##NS, kStream, TPB, WPT, NS, 0, 0, 1}
QS_KERNEL(1, 4, 6)
QS_KERNEL(1, 8, 5)
QS_KERNEL(2, 4, 4)
QS_KERNEL(1, 8, 4)
QS_KERNEL(1, 16, 4)
QS_KERNEL(2, 2, 8)
static Variant kVariants[] = {
    OLD(qgemv_int4_mma_r1, 1, 8, 0), {"read_bound", (void*)read_bound, kReadBound, 0, 0, 0, 0, 0, 1},
    NEWH(2, 4, 5), NEWH(2, 4, 4), NEWH(1, 4, 8), NEWH(1, 4, 6), NEWH(1, 8, 4),
    NEWH(1, 8, 5), NEWH(2, 8, 4), NEWH(1, 16, 4), NEWH(2, 2, 8),
};

__global__ void fill_bytes(unsigned char* p, long long n, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
        p[i] = (unsigned char)h;
    }
}

__global__ void fill_floats(float* p, long long n, unsigned seed, float lo, float hi, int integral)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
        float u = (h & 0xffffff) / 16777216.f;
        float v = lo + (hi - lo) * u;
        p[i] = integral ? floorf(v) : v;
    }
}

__global__ void round_f16(float* p, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        p[i] = h2f(f2h(p[i]));
}

__global__ void fill_bf16(bf16_t* p, long long n, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
        p[i] = f2bf(((h & 0xffff) / 65536.f - 0.5f) * 2.f);
    }
}

struct Layer { unsigned char* w; float* s; float* z; unsigned* szh; };

static void launch(const Variant& v, const Shape& sh, const Layer& L, const bf16_t* x, void* y, int f32out, cudaStream_t st)
{
    int n = sh.n, m = 1, k = sh.k, rowBytes = k / 2, groups = k / kGroup, gs = kGroup, sbr = 1;
    const bf16_t* bias = nullptr;
    if (v.kind == kReadBound)
    {
        long long n16 = (long long)n * rowBytes / 16;
        unsigned* out = (unsigned*)y;
        void* args[] = {(void*)&L.w, &n16, &out};
        CK(cudaLaunchKernel((const void*)v.fn, dim3(132 * 8), dim3(256), args, 0, st));
    }
    else if (v.kind == kStream)
    {
        void* args[] = {(void*)&x, (void*)&L.w, (void*)&L.szh, (void*)&bias, (void*)&y, &n, &k, &rowBytes, &groups, &gs, &f32out};
        const int tiles = n / 16, blocks = (tiles + v.tpb - 1) / v.tpb, smem = qs_shared_bytes(k, v.tpb * v.wpt, v.ns);
        CK(cudaLaunchKernel((const void*)v.fn, dim3(blocks), dim3(v.tpb * v.wpt * 32), args, smem, st));
    }
    else
    {
        void* args[] = {(void*)&x, (void*)&L.w, (void*)&L.s, (void*)&L.z, (void*)&bias, (void*)&y, &n, &m, &k, &rowBytes, &groups, &gs, &sbr, &f32out};
        const int blocks = (n + 16 * v.tiles - 1) / (16 * v.tiles);
        CK(cudaLaunchKernel((const void*)v.fn, dim3(blocks), dim3(v.warps * 32), args, 0, st));
    }
}

// Median time per launch of the 32 launches record() issues, captured once as a graph and replayed 35 times
// (the first 5 discarded).
template <typename F>
static double graph_us(cudaStream_t st, F record)
{
    cudaGraph_t g;
    cudaGraphExec_t ge;
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    record();
    CK(cudaStreamEndCapture(st, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    std::vector<float> ms;
    for (int r = 0; r < 35; r++)
    {
        CK(cudaEventRecord(e0, st));
        CK(cudaGraphLaunch(ge, st));
        CK(cudaEventRecord(e1, st));
        CK(cudaEventSynchronize(e1));
        float t;
        CK(cudaEventElapsedTime(&t, e0, e1));
        if (r >= 5) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    CK(cudaGraphExecDestroy(ge));
    CK(cudaGraphDestroy(g));
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return ms[ms.size() / 2] * 1000.0 / kLayers;
}

int main()
{
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
    for (auto& v : kVariants)
        if (v.kind == kStream) CK(cudaFuncSetAttribute((const void*)v.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, 160 * 1024));
    CK(cudaFuncSetAttribute((const void*)qgemv_int4_streamh_gated_t2_w4_s5, cudaFuncAttributeMaxDynamicSharedMemorySize, 160 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    bf16_t* x;
    CK(cudaMalloc(&x, 14336 * 2));
    fill_bf16<<<64, 256>>>(x, 14336, 7);
    float *yref, *yv;
    CK(cudaMalloc(&yref, 28672 * 4));
    CK(cudaMalloc(&yv, 28672 * 4));
    int* inexact;
    CK(cudaMalloc(&inexact, 4));
    CK(cudaMemset(inexact, 0, 4));
    std::vector<std::vector<Layer>> layers(4);
    for (int s = 0; s < 4; s++)
    {
        const Shape& sh = kShapes[s];
        for (int l = 0; l < kLayers; l++)
        {
            Layer L;
            long long wb = (long long)sh.n * sh.k / 2, sg = (long long)sh.n * (sh.k / kGroup);
            CK(cudaMalloc(&L.w, wb));
            CK(cudaMalloc(&L.s, sg * 4));
            CK(cudaMalloc(&L.szh, sg * 4));
            CK(cudaMalloc(&L.z, sg * 4));
            fill_bytes<<<1024, 256>>>(L.w, wb, 1000 * s + l);
            fill_floats<<<256, 256>>>(L.s, sg, 77 + 1000 * s + l, 0.002f, 0.02f, 0);
            round_f16<<<256, 256>>>(L.s, sg);  // checkpoint scales are fp16
            fill_floats<<<256, 256>>>(L.z, sg, 99 + 1000 * s + l, 0.f, 15.99f, 1);
            int4_tile_scales_f16<<<256, 256>>>(L.s, L.z, L.szh, sh.n, sh.k / kGroup, 1, inexact);
            layers[s].push_back(L);
        }
    }
    CK(cudaDeviceSynchronize());
    int inex = 0;
    CK(cudaMemcpy(&inex, inexact, 4, cudaMemcpyDeviceToHost));
    if (inex) printf("int4_tile_scales_f16 reported inexact values\n");

    // Correctness against the default kernel (f32 outputs, layer 0 of each shape).
    std::vector<float> ref(28672), got(28672);
    unsigned char* wt0;
    CK(cudaMalloc(&wt0, 28672LL * 4096 / 2));
    for (int s = 0; s < 4; s++)
    {
        const Shape& sh = kShapes[s];
        launch(kVariants[0], sh, layers[s][0], x, yref, 1, st);
        Layer T = layers[s][0];
        T.w = wt0;
        int4_tile_repack<<<1024, 256, 0, st>>>(reinterpret_cast<const uint4*>(layers[s][0].w), wt0, sh.n, sh.k / 2);
        CK(cudaStreamSynchronize(st));
        CK(cudaMemcpy(ref.data(), yref, sh.n * 4, cudaMemcpyDeviceToHost));
        for (auto& v : kVariants)
        {
            if (v.kind == kReadBound) continue;
            CK(cudaMemset(yv, 0, sh.n * 4));
            launch(v, sh, v.tiled ? T : layers[s][0], x, yv, 1, st);
            CK(cudaStreamSynchronize(st));
            CK(cudaMemcpy(got.data(), yv, sh.n * 4, cudaMemcpyDeviceToHost));
            double maxd = 0, maxr = 0;
            for (int i = 0; i < sh.n; i++) { maxd = std::max(maxd, (double)fabsf(got[i] - ref[i])); maxr = std::max(maxr, (double)fabsf(ref[i])); }
            if (maxd > 1e-4 * maxr) printf("MISMATCH %s %s: max |diff| %.3g of max |ref| %.3g\n", v.name, sh.name, maxd, maxr);
        }
    }

    // gate|up with the SiLU epilogue against SiLU of the reference kernel's f32 gate and up (layer 0, repacked).
    {
        const Shape& sh = kShapes[2];
        const int inter = sh.n / 2, k = sh.k, rowBytes = k / 2, groups = k / kGroup, gs = kGroup, act = 0;
        launch(kVariants[0], sh, layers[2][0], x, yref, 1, st);
        int4_tile_repack<<<1024, 256, 0, st>>>(reinterpret_cast<const uint4*>(layers[2][0].w), wt0, sh.n, rowBytes);
        bf16_t* yg;
        CK(cudaMalloc(&yg, inter * 2));
        int n = sh.n;
        auto gated = [&](const unsigned char* w, const unsigned* szh)
        {
            void* a[] = {(void*)&x, (void*)&w, (void*)&szh, (void*)&yg, &n, (void*)&k, (void*)&rowBytes, (void*)&groups, (void*)&gs, (void*)&act};
            CK(cudaLaunchKernel((const void*)qgemv_int4_streamh_gated_t2_w4_s5, dim3(inter / 16), dim3(256), a, qs_shared_bytes(k, 8, 5), st));
        };
        gated(wt0, layers[2][0].szh);
        CK(cudaStreamSynchronize(st));
        std::vector<float> r(sh.n);
        std::vector<unsigned short> gb(inter);
        CK(cudaMemcpy(r.data(), yref, sh.n * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(gb.data(), yg, inter * 2, cudaMemcpyDeviceToHost));
        double maxd = 0, maxr = 0;
        for (int j = 0; j < inter; j++)
        {
            const double gv = r[j], e = gv / (1 + std::exp(-gv)) * r[inter + j];
            unsigned u = (unsigned)gb[j] << 16;
            float got;
            memcpy(&got, &u, 4);
            maxd = std::max(maxd, std::fabs(got - e));
            maxr = std::max(maxr, std::fabs(e));
        }
        printf("gated gate_up: max |diff| %.3g of max |ref| %.3g%s\n", maxd, maxr, maxd > 1e-2 * maxr ? " MISMATCH" : "");
        // Timing: the gated kernel over the 32 layers (codes read as if tiled).
        const double us = graph_us(st, [&] { for (int l = 0; l < kLayers; l++) gated(layers[2][l].w, layers[2][l].szh); });
        printf("gated_t2_w4_s5 gate_up: %.2f us per launch\n", us);
    }

    // Timing: per shape, a graph of 32 launches over the 32 layers (bf16 out), median of 30 replays.
    bf16_t* yb;
    CK(cudaMalloc(&yb, 28672 * 2));
    printf("%-26s", "variant \\ us per launch");
    for (auto& sh : kShapes) printf(" %14s", sh.name);
    printf(" %12s\n", "sum x 32");
    for (auto& v : kVariants)
    {
        printf("%-26s", v.name);
        double total = 0;
        for (int s = 0; s < 4; s++)
        {
            const Shape& sh = kShapes[s];
            const double us = graph_us(st, [&] { for (int l = 0; l < kLayers; l++) launch(v, sh, layers[s][l], x, yb, 0, st); });
            // Codes and the f16 scale|zero pairs the stream kernels read.
            const double bytes = (double)sh.n * sh.k / 2 + (double)sh.n * (sh.k / kGroup) * 4;
            printf(" %6.2f %4.2fTB", us, bytes / us * 1e-6);
            total += us;
        }
        printf(" %9.3f ms", total * kLayers / 1000.0);
        printf("\n");
    }
    return 0;
}
