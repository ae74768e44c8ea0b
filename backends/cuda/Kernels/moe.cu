// Sparse mixture of experts in three launches: routing (softmax + top-k per token), the gate/up projections with
// the activation for each (token, chosen expert), and the down projections summed with the routing weights.
// Each output element is owned by one warp, so results are deterministic (no atomics).

// One thread per token. Ties go to the lower expert index.
extern "C" __global__ void moe_route_bf16(const bf16_t* __restrict__ logits, int tokens, int experts, int topK,
                                          int renormalize, int* __restrict__ ids, float* __restrict__ weights)
{
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= tokens) return;
    const bf16_t* l = logits + (long long)t * experts;
    float mx = NEG_INF;
    for (int e = 0; e < experts; e++) mx = fmaxf(mx, bf2f(l[e]));
    float sum = 0.f;
    for (int e = 0; e < experts; e++) sum += expf(bf2f(l[e]) - mx);
    float chosenSum = 0.f;
    for (int k = 0; k < topK; k++)
    {
        int best = -1;
        float bestV = NEG_INF;
        for (int e = 0; e < experts; e++)
        {
            bool taken = false;
            for (int j = 0; j < k; j++) taken |= ids[(long long)t * topK + j] == e;
            const float v = bf2f(l[e]);
            if (!taken && (best < 0 || v > bestV)) { best = e; bestV = v; }
        }
        const float p = expf(bestV - mx) / sum;
        ids[(long long)t * topK + k] = best;
        weights[(long long)t * topK + k] = p;
        chosenSum += p;
    }
    if (renormalize)
        for (int k = 0; k < topK; k++) weights[(long long)t * topK + k] /= chosenSum;
}

// grid (tokens * topK, ceil(inter / warps)); each warp computes one intermediate column j:
// inter[tk, j] = act(gate_e[j] . x[t]) * (up_e[j] . x[t]), with gate rows [0, I) and up rows [I, 2I) of gateUp[e].
extern "C" __global__ void moe_gate_up_bf16(const bf16_t* __restrict__ x, const bf16_t* __restrict__ gateUp,
                                            const int* __restrict__ ids, int topK, int hidden, int inter, int act,
                                            float* __restrict__ interOut)
{
    const int tk = blockIdx.x;
    const int warps = blockDim.x >> 5, lane = threadIdx.x & 31;
    const int j = blockIdx.y * warps + (threadIdx.x >> 5);
    if (j >= inter) return;
    const int t = tk / topK;
    const int e = ids[tk];
    const bf16_t* xr = x + (long long)t * hidden;
    const bf16_t* g = gateUp + ((long long)e * 2 * inter + j) * hidden;
    const bf16_t* u = gateUp + ((long long)e * 2 * inter + inter + j) * hidden;
    float sg = 0.f, su = 0.f;
    for (int h = lane; h < hidden; h += 32)
    {
        const float xv = bf2f(xr[h]);
        sg += bf2f(g[h]) * xv;
        su += bf2f(u[h]) * xv;
    }
    sg = warp_sum(sg);
    su = warp_sum(su);
    if (lane == 0) interOut[(long long)tk * inter + j] = act_fn(sg, act) * su;
}

// grid (tokens, ceil(hidden / warps)); each warp computes out[t, h] = sum_k w[t,k] * (down_e[h] . inter[t,k]).
extern "C" __global__ void moe_down_bf16(const float* __restrict__ interIn, const bf16_t* __restrict__ down,
                                         const int* __restrict__ ids, const float* __restrict__ weights,
                                         int topK, int hidden, int inter, bf16_t* __restrict__ out)
{
    const int t = blockIdx.x;
    const int warps = blockDim.x >> 5, lane = threadIdx.x & 31;
    const int h = blockIdx.y * warps + (threadIdx.x >> 5);
    if (h >= hidden) return;
    float acc = 0.f;
    for (int k = 0; k < topK; k++)
    {
        const int tk = t * topK + k;
        const int e = ids[tk];
        const bf16_t* d = down + ((long long)e * hidden + h) * inter;
        const float* iv = interIn + (long long)tk * inter;
        float s = 0.f;
        for (int i = lane; i < inter; i += 32) s += bf2f(d[i]) * iv[i];
        acc += weights[tk] * warp_sum(s);
    }
    if (lane == 0) out[(long long)t * hidden + h] = f2bf(acc);
}
