using Modular.Abstractions;
using Modular.Backends.Cuda.Native;
using Modular.Backends.Cuda.Runtime;

namespace Modular.Backends.Cuda;

/// <summary>
/// <see cref="IKernels"/> on the GPU: each op checks shapes and dtypes on the host (messages name the op, the
/// argument and the shapes), then enqueues one or a few kernels on the backend's stream.
/// </summary>
internal sealed unsafe partial class CudaKernels(CudaBackend backend) : IKernels, IDeviceArgMax, IFusedQkvKernels, IFusedGateUpKernels
{
    private const uint RowThreads = 256;

    /// <summary>The quantized linear layers (see CudaKernels.Quantized.cs).</summary>
    private readonly CudaQuantizedKernels _quantized = new(backend);

    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output)
    {
        var tb = Bf16(table, "Embedding", nameof(table));
        var id = I32(ids, "Embedding", nameof(ids));
        var o = Bf16(output, "Embedding", nameof(output));
        int hidden = (int)tb.RowLength;
        if (o.Length != id.Length * hidden)
            throw Shape("Embedding", $"output {o} must be [{id.Length},{hidden}] for ids {id} and table {tb}");
        backend.Bind();
        backend.Launch(backend.Library.EmbeddingBf16, (uint)id.Length, 1, 1, RowThreads, 0,
            backend.Args().Ptr(tb.Pointer).Ptr(id.Pointer).Float(scale).Ptr(o.Pointer).Int(hidden).Int(tb.Rows), "embedding_bf16");
    }

    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        var xv = Bf16(x, "RmsNorm", nameof(x));
        var w = Bf16(weight, "RmsNorm", nameof(weight));
        var o = Bf16(output, "RmsNorm", nameof(output));
        int hidden = (int)w.Length;
        CheckRows("RmsNorm", xv, o, hidden);
        backend.Bind();
        backend.Launch(backend.Library.RmsNormBf16, (uint)(xv.Length / hidden), 1, 1, RowThreadsFor(hidden), 0,
            backend.Args().Ptr(xv.Pointer).Ptr(w.Pointer).Ptr(o.Pointer).Int(hidden).Float(eps).Float(weightOffset), "rmsnorm_bf16");
    }

    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        var xv = Bf16(x, "AddRmsNorm", nameof(x));
        var r = Bf16(residual, "AddRmsNorm", nameof(residual));
        var w = Bf16(weight, "AddRmsNorm", nameof(weight));
        var o = Bf16(output, "AddRmsNorm", nameof(output));
        int hidden = (int)w.Length;
        CheckRows("AddRmsNorm", xv, o, hidden);
        if (r.Length != xv.Length) throw Shape("AddRmsNorm", $"residual {r} must match x {xv}");
        backend.Bind();
        backend.Launch(backend.Library.AddRmsNormBf16, (uint)(xv.Length / hidden), 1, 1, RowThreadsFor(hidden), 0,
            backend.Args().Ptr(xv.Pointer).Ptr(r.Pointer).Ptr(w.Pointer).Ptr(o.Pointer).Int(hidden).Float(eps).Float(weightOffset),
            "add_rmsnorm_bf16");
    }

    /// <summary>
    /// y = x W^T (+ b) through cuBLAS: bf16 operands, float32 accumulation, output BF16 (activations) or F32
    /// (the model runner's logits, so the vocabulary projection is not rounded to bf16).
    /// </summary>
    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output)
    {
        var xv = Bf16(x, "Linear", nameof(x));
        var w = Bf16(weight, "Linear", nameof(weight));
        var o = backend.Own(output, nameof(output));
        if (o.DType is not (DType.BF16 or DType.F32))
            throw new NotSupportedException($"cuda Linear: output is {o}; expected BF16 or F32");
        if (w.Shape.Length != 2) throw Shape("Linear", $"weight {w} must be [N,K]");
        int n = w.Shape[0], k = w.Shape[1];
        if (xv.Length % k != 0) throw Shape("Linear", $"x {xv} rows must have K={k} elements (weight {w})");
        int t = (int)(xv.Length / k);
        if (o.Length != (long)t * n) throw Shape("Linear", $"output {o} must be [{t},{n}] for x {xv} and weight {w}");
        CudaTensor? b = null;
        if (bias is not null)
        {
            b = Bf16(bias, "Linear", nameof(bias));
            if (b.Length != n) throw Shape("Linear", $"bias {b} must have N={n} elements");
        }
        if (t == 0) return;
        backend.Bind();
        bool f32Out = o.DType == DType.F32;
        if (t <= KernelLibrary.MaxGemvRows && UseGemv && k % 8 == 0 && ((xv.Pointer | w.Pointer) & 15) == 0)
        {
            // Decode-sized products: a weight-streaming kernel reads W at close to full bandwidth, where cuBLAS
            // leaves a third of it unused for these shapes.
            backend.Launch(backend.Library.Gemv(t, f32Out), (uint)((n + 7) / 8), 1, 1, 256, 0,
                backend.Args().Ptr(xv.Pointer).Ptr(w.Pointer).Ptr(o.Pointer).Int(n).Int(k), "gemv");
        }
        else
        {
            // Row-major y[T,N] = x[T,K] W[N,K]^T is column-major y^T[N,T] = W^T(as stored, K x N col-major)^T * x^T.
            float alpha = 1f, beta = 0f;
            backend.Profiler?.Begin();
            CudaCheck.Blas(Cublas.cublasGemmEx(backend.Blas.Raw, Cublas.OpT, Cublas.OpN, n, t, k,
                &alpha, w.Pointer, Cublas.R16BF, k, xv.Pointer, Cublas.R16BF, k,
                &beta, o.Pointer, f32Out ? Cublas.R32F : Cublas.R16BF, n, Cublas.Compute32F, Cublas.GemmDefault),
                $"cublasGemmEx(Linear x {xv} weight {w} -> {o})");
            backend.Profiler?.End($"cublas gemm m={Bucket(t)} n={n} k={k}"); // the label is built only when profiling
        }
        if (b is not null)
            backend.LaunchElementwise(f32Out ? backend.Library.BiasAddF32 : backend.Library.BiasAddBf16, o.Length,
                backend.Args().Ptr(o.Pointer).Ptr(b.Pointer).Long(t).Int(n), "bias_add");
    }

    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim)
    {
        var qv = Bf16(q, "Rope", nameof(q));
        var kv = Bf16(k, "Rope", nameof(k));
        var pos = I32(positions, "Rope", nameof(positions));
        var cs = backend.Own(cosSin, nameof(cosSin));
        if (cs.Shape.Length != 2) throw Shape("Rope", $"cosSin {cs} must be [maxPos, rot]");
        int rot = cs.Shape[1];
        if (rot % 2 != 0 || rot > headDim) throw Shape("Rope", $"cosSin {cs}: rotary dims {rot} must be even and at most headDim {headDim}");
        int tokens = (int)pos.Length;
        if (tokens == 0) return;
        if (qv.Length % ((long)tokens * headDim) != 0 || kv.Length % ((long)tokens * headDim) != 0)
            throw Shape("Rope", $"q {qv} and k {kv} must be [{tokens}, heads*{headDim}]");
        int hq = (int)(qv.Length / tokens / headDim), hk = (int)(kv.Length / tokens / headDim);
        nint fn = cs.DType switch
        {
            DType.F32 => backend.Library.RopeF32Table,
            DType.BF16 => backend.Library.RopeBf16Table,
            _ => throw new NotSupportedException($"cuda Rope: cosSin {cs} must be F32 or BF16"),
        };
        backend.Bind();
        backend.LaunchElementwise(fn, (long)tokens * (hq + hk) * (rot / 2),
            backend.Args().Ptr(qv.Pointer).Ptr(kv.Pointer).Ptr(pos.Pointer).Ptr(cs.Pointer)
                .Int(tokens).Int(hq).Int(hk).Int(headDim).Int(rot), "rope");
    }

    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output)
    {
        var g = Bf16(gateUp, "ActAndMul", nameof(gateUp));
        var o = Bf16(output, "ActAndMul", nameof(output));
        int tokens = g.Rows;
        if (g.Shape.Length < 2 || g.RowLength % 2 != 0) throw Shape("ActAndMul", $"gateUp {g} must be [T, 2I]");
        int inter = (int)(g.RowLength / 2);
        if (o.Length != (long)tokens * inter) throw Shape("ActAndMul", $"output {o} must be [{tokens},{inter}] for gateUp {g}");
        backend.Bind();
        backend.LaunchElementwise(backend.Library.ActAndMulBf16, o.Length,
            backend.Args().Ptr(g.Pointer).Ptr(o.Pointer).Long(tokens).Int(inter).Int((int)activation), "act_and_mul_bf16");
    }

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        var av = Bf16(a, "Add", nameof(a));
        var bv = Bf16(b, "Add", nameof(b));
        var o = Bf16(output, "Add", nameof(output));
        if (av.Length != bv.Length || av.Length != o.Length) throw Shape("Add", $"a {av}, b {bv} and output {o} must have one length");
        backend.Bind();
        backend.LaunchElementwise(backend.Library.AddBf16, o.Length,
            backend.Args().Ptr(av.Pointer).Ptr(bv.Pointer).Ptr(o.Pointer).Long(o.Length), "add_bf16");
    }

    public void GatherRows(Tensor x, Tensor rows, Tensor output)
    {
        var xv = backend.Own(x, nameof(x));
        var r = I32(rows, "GatherRows", nameof(rows));
        var o = backend.Own(output, nameof(output));
        if (o.DType != xv.DType || o.Length != r.Length * xv.RowLength)
            throw Shape("GatherRows", $"output {o} must be {xv.DType}[{r.Length},{xv.RowLength}] for x {xv} and rows {r}");
        long rowBytes = xv.RowLength * DTypes.SizeOf(xv.DType);
        backend.Bind();
        bool words = rowBytes % 4 == 0;
        backend.Launch(words ? backend.Library.GatherRowsB32 : backend.Library.GatherRowsB8, (uint)r.Length, 1, 1, RowThreads, 0,
            backend.Args().Ptr(xv.Pointer).Ptr(r.Pointer).Ptr(o.Pointer).Int((int)(words ? rowBytes / 4 : rowBytes)).Int(xv.Rows),
            "gather_rows");
    }

    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output)
    {
        var xv = Bf16(x, "Moe", nameof(x));
        var logits = Bf16(routerLogits, "Moe", nameof(routerLogits));
        var gu = Bf16(gateUp, "Moe", nameof(gateUp));
        var dn = Bf16(down, "Moe", nameof(down));
        var o = Bf16(output, "Moe", nameof(output));
        if (gu.Shape.Length != 3 || dn.Shape.Length != 3) throw Shape("Moe", $"gateUp {gu} must be [E,2I,H] and down {dn} [E,H,I]");
        int experts = gu.Shape[0], inter = gu.Shape[1] / 2, hidden = gu.Shape[2];
        if (dn.Shape[0] != experts || dn.Shape[1] != hidden || dn.Shape[2] != inter)
            throw Shape("Moe", $"down {dn} must be [{experts},{hidden},{inter}] for gateUp {gu}");
        int tokens = (int)(xv.Length / hidden);
        if (xv.Length != (long)tokens * hidden || o.Length != xv.Length) throw Shape("Moe", $"x {xv} and output {o} must be [T,{hidden}]");
        if (logits.Length != (long)tokens * experts) throw Shape("Moe", $"routerLogits {logits} must be [{tokens},{experts}]");
        if (topK < 1 || topK > experts) throw new ArgumentOutOfRangeException(nameof(topK), $"cuda Moe: topK {topK} must be in [1, {experts}]");
        if (tokens == 0) return;
        backend.Bind();
        long pairs = (long)tokens * topK;
        long idsBytes = ScratchArena.Align(pairs * 4), wBytes = ScratchArena.Align(pairs * 4);
        ulong basePtr = backend.Scratch.Acquire(idsBytes + wBytes + pairs * inter * 4);
        ulong ids = basePtr, weights = basePtr + (ulong)idsBytes, interBuf = weights + (ulong)wBytes;
        var lib = backend.Library;
        backend.Launch(lib.MoeRoute, (uint)((tokens + 127) / 128), 1, 1, 128, 0,
            backend.Args().Ptr(logits.Pointer).Int(tokens).Int(experts).Int(topK).Int(renormalize ? 1 : 0).Ptr(ids).Ptr(weights),
            "moe_route_bf16");
        const int warps = 8;
        backend.Launch(lib.MoeGateUp, (uint)pairs, (uint)((inter + warps - 1) / warps), 1, warps * 32, 0,
            backend.Args().Ptr(xv.Pointer).Ptr(gu.Pointer).Ptr(ids).Int(topK).Int(hidden).Int(inter).Int((int)activation).Ptr(interBuf),
            "moe_gate_up_bf16");
        backend.Launch(lib.MoeDown, (uint)tokens, (uint)((hidden + warps - 1) / warps), 1, warps * 32, 0,
            backend.Args().Ptr(interBuf).Ptr(dn.Pointer).Ptr(ids).Ptr(weights).Int(topK).Int(hidden).Int(inter).Ptr(o.Pointer),
            "moe_down_bf16");
    }

    /// <summary>Greedy ids on the device: one 1024-thread block per row of float32 logits.</summary>
    public void ArgMax(Tensor logits, Tensor ids)
    {
        var x = backend.Own(logits, nameof(logits));
        var o = I32(ids, "ArgMax", nameof(ids));
        if (x.DType != DType.F32 || x.Shape.Length != 2) throw Shape("ArgMax", $"logits {x} must be F32 [R,V]");
        if (o.Length != x.Rows) throw Shape("ArgMax", $"ids {o} must have R={x.Rows} elements for logits {x}");
        if (x.Rows == 0 || x.Shape[1] == 0) return;
        backend.Bind();
        backend.Launch(backend.Library.ArgMaxRowsF32, (uint)x.Rows, 1, 1, 1024, 0,
            backend.Args().Ptr(x.Pointer).Int(x.Shape[1]).Ptr(o.Pointer), "argmax_rows_f32");
    }

    /// <summary>Splits a fused q|k|v projection into q, k, v and applies the rotary embedding to q and k.</summary>
    public void SplitQkvRope(Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, Tensor k, Tensor v)
    {
        var kv = Bf16(k, "SplitQkvRope", nameof(k));
        var vv = Bf16(v, "SplitQkvRope", nameof(v));
        int tokens = (int)positions.Length;
        if (tokens == 0) return;
        if (kv.Length % ((long)tokens * headDim) != 0) throw Shape("SplitQkvRope", $"k {kv} must be [{tokens}, heads*{headDim}]");
        if (vv.Length != kv.Length) throw Shape("SplitQkvRope", $"v {vv} must match k {kv}");
        int hk = (int)(kv.Length / tokens / headDim);
        var split = SplitQkvRopeArgs("SplitQkvRope", qkv, positions, cosSin, headDim, q, hk, cs => cs.DType switch
        {
            DType.F32 => backend.Library.SplitQkvRopeF32Table,
            DType.BF16 => backend.Library.SplitQkvRopeBf16Table,
            _ => throw new NotSupportedException($"cuda SplitQkvRope: cosSin {cs} must be F32 or BF16"),
        }, a => a.Ptr(kv.Pointer).Ptr(vv.Pointer));
        LaunchSplitQkvRope(split, tokens, "split_qkv_rope");
    }

    /// <summary>
    /// <see cref="SplitQkvRope"/> with k and v written straight into one cache layer's rows at
    /// <paramref name="slots"/> (device int32 per token; negative = padding, skipped) instead of k/v tensors: bf16
    /// rows, or e4m3fn codes of the bf16-rounded values when <paramref name="fp8Cache"/> (as reshape_and_cache_fp8).
    /// </summary>
    internal void SplitQkvRopeStore(Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, int numKvHeads,
        ulong slots, ulong keyCache, ulong valueCache, bool fp8Cache)
    {
        int tokens = (int)positions.Length;
        if (tokens == 0) return;
        var split = SplitQkvRopeArgs("SplitQkvRopeStore", qkv, positions, cosSin, headDim, q, numKvHeads, cs => cs.DType switch
        {
            DType.F32 or DType.BF16 => backend.Library.SplitQkvRopeStore(cs.DType == DType.BF16, fp8Cache),
            _ => throw new NotSupportedException($"cuda SplitQkvRopeStore: cosSin {cs} must be F32 or BF16"),
        }, a => a.Ptr(keyCache).Ptr(valueCache).Ptr(slots));
        LaunchSplitQkvRope(split, tokens, fp8Cache ? "split_qkv_rope_store_fp8" : "split_qkv_rope_store");
    }

    /// <summary>
    /// Checks the split's shapes and builds its arguments: qkv, positions, cos|sin, q, then what
    /// <paramref name="kvArgs"/> adds (k/v tensors, or cache rows and slots), then hq, hk, headDim, rot; with the
    /// heads per token and work items per token (heads x (headDim - rot / 2)) that size the grid.
    /// </summary>
    private (nint Fn, KernelArgsBuilder Args, int Heads, int Items) SplitQkvRopeArgs(string op, Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q,
        int hk, Func<CudaTensor, nint> kernel, Func<KernelArgsBuilder, KernelArgsBuilder> kvArgs)
    {
        var src = Bf16(qkv, op, nameof(qkv));
        var pos = I32(positions, op, nameof(positions));
        var cs = backend.Own(cosSin, nameof(cosSin));
        var qv = Bf16(q, op, nameof(q));
        int tokens = (int)pos.Length;
        if (cs.Shape.Length != 2) throw Shape(op, $"cosSin {cs} must be [maxPos, rot]");
        int rot = cs.Shape[1];
        if (headDim <= 0 || rot % 2 != 0 || rot > headDim) throw Shape(op, $"cosSin {cs}: rotary dims {rot} must be even and at most headDim {headDim}");
        if (qv.Length % ((long)tokens * headDim) != 0) throw Shape(op, $"q {qv} must be [{tokens}, heads*{headDim}]");
        int hq = (int)(qv.Length / tokens / headDim);
        if (src.Length != (long)tokens * (hq + 2 * hk) * headDim)
            throw Shape(op, $"qkv {src} must be [{tokens},{(hq + 2 * hk) * headDim}] for q {qv} and {hk} KV heads");
        var fn = kernel(cs);
        var args = kvArgs(backend.Args().Ptr(src.Pointer).Ptr(pos.Pointer).Ptr(cs.Pointer).Ptr(qv.Pointer));
        return (fn, args.Int(hq).Int(hk).Int(headDim).Int(rot), hq + 2 * hk, (hq + 2 * hk) * (headDim - rot / 2));
    }

    /// <summary>
    /// Launches a split over grid (T, Y): few tokens (decode) spread each token's heads over Y blocks of about 256
    /// work items (H heads x (headDim - rot / 2) items per token); many tokens keep one block per token.
    /// </summary>
    private void LaunchSplitQkvRope((nint Fn, KernelArgsBuilder Args, int Heads, int Items) split, int tokens, string what)
    {
        int y = tokens >= SplitQkvRopeSpreadTokens ? 1 : Math.Clamp((split.Items + 255) / 256, 1, split.Heads);
        backend.Bind();
        backend.Launch(split.Fn, (uint)tokens, (uint)y, 1, 256, 0, split.Args, what);
    }

    /// <summary>Steps of at least this many tokens launch one split block per token (enough blocks already).</summary>
    private const int SplitQkvRopeSpreadTokens = 64;

    /// <summary>
    /// The gate|up GEMV with the activation as its epilogue (gemv_gate_up in gemv.cu) for the decode shapes the
    /// GEMV serves (1..<see cref="KernelLibrary.MaxGemvRows"/> rows, K a multiple of 8, aligned rows); anything else
    /// returns false for the caller's Linear + ActAndMul. MODULAR_CUDA_GEMV=0 turns it off with the GEMV.
    /// </summary>
    public bool TryLinearActAndMul(Tensor x, Tensor gateUp, Activation activation, Tensor output)
    {
        if (!UseGemv || x.DType != DType.BF16 || gateUp.DType != DType.BF16 || output.DType != DType.BF16) return false;
        var xv = backend.Own(x, nameof(x));
        var w = backend.Own(gateUp, nameof(gateUp));
        var o = backend.Own(output, nameof(output));
        if (w.Shape.Length != 2 || w.Shape[0] % 2 != 0) throw Shape("LinearActAndMul", $"gateUp {w} must be [2I,K]");
        int inter = w.Shape[0] / 2, k = w.Shape[1];
        if (xv.Length % k != 0) throw Shape("LinearActAndMul", $"x {xv} rows must have K={k} elements (gateUp {w})");
        int t = (int)(xv.Length / k);
        if (o.Length != (long)t * inter) throw Shape("LinearActAndMul", $"output {o} must be [{t},{inter}] for x {xv} and gateUp {w}");
        if (t == 0 || t > KernelLibrary.MaxGemvRows || k % 8 != 0 || ((xv.Pointer | w.Pointer) & 15) != 0) return false;
        backend.Bind();
        backend.Launch(backend.Library.GemvGateUp(t), (uint)((inter + 7) / 8), 1, 1, 256, 0,
            backend.Args().Ptr(xv.Pointer).Ptr(w.Pointer).Ptr(o.Pointer).Int(inter).Int(k).Int((int)activation), "gemv_gate_up");
        return true;
    }

    /// <summary>MODULAR_CUDA_GEMV=0 sends every Linear to cuBLAS.</summary>
    private static readonly bool UseGemv = Environment.GetEnvironmentVariable("MODULAR_CUDA_GEMV") != "0";

    internal static uint RowThreadsFor(int hidden) => hidden >= 1024 ? 512u : hidden >= 256 ? 256u : 128u;

    private static void CheckRows(string op, CudaTensor x, CudaTensor o, int hidden)
    {
        if (hidden == 0 || x.Length % hidden != 0) throw Shape(op, $"x {x} rows must have H={hidden} elements (the weight's length)");
        if (o.Length != x.Length) throw Shape(op, $"output {o} must match x {x}");
    }

    private CudaTensor Bf16(Tensor t, string op, string name)
    {
        var c = backend.Own(t, name);
        if (c.DType != DType.BF16) throw new NotSupportedException($"cuda {op}: {name} is {c}; this backend computes in BF16");
        return c;
    }

    private CudaTensor I32(Tensor t, string op, string name)
    {
        var c = backend.Own(t, name);
        if (c.DType != DType.I32) throw new ArgumentException($"cuda {op}: {name} is {c}; expected I32", name);
        return c;
    }

    private static ArgumentException Shape(string op, string what) => new($"cuda {op}: {what}");

    /// <summary>Rows rounded up to a power of two, so the profile groups decode batches of similar size.</summary>
    internal static int Bucket(int t) => t <= 1 ? 1 : 1 << (32 - int.LeadingZeroCount(t - 1));
}
