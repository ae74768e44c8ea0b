using ILGPU;
using ILGPU.Runtime;
using Modular.Abstractions;
using Modular.Backends.Rocm.Kernels;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Rocm;

/// <summary>
/// <see cref="IKernels"/> on ILGPU: checks shapes on the host, then enqueues the kernels of
/// <see cref="Modular.Backends.Rocm.Kernels"/>. Each kernel is compiled on first use (a model that never calls
/// MoE never pays for its build).
/// </summary>
internal sealed class RocmKernels : IKernels, IDeviceArgMax, IDisposable
{
    /// <summary>Most groups a launch uses; more work loops inside the kernel.</summary>
    private const int MaxGroups = 4096;

    private readonly RocmBackend _b;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, int, ArrayView<int>, ArrayView<float>, int, int, float>> _embedding;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, float, float>> _rmsNorm;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>> _linear;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>> _gemvGroup;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, ArrayView<uint>, int, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>> _gemvWarp;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int, int>> _rope;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int>> _actAndMul;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>> _add;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>> _gather;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>> _route;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, int>> _expertGateUp;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, int>> _expertDown;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int>> _argMax;
    private readonly List<Tensor> _moeScratch = new();

    public RocmKernels(RocmBackend backend)
    {
        _b = backend;
        var l = backend.Loader;
        _embedding = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, int, ArrayView<int>, ArrayView<float>, int, int, float>>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Embedding)));
        _rmsNorm = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, float, float>>(typeof(NormKernels), nameof(NormKernels.RmsNorm)));
        _linear = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>>(typeof(GemmKernels), nameof(GemmKernels.Linear)));
        _gemvGroup = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>>(typeof(GemvKernels), nameof(GemvKernels.GroupPerColumn)));
        _gemvWarp = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, ArrayView<uint>, int, int, ArrayView<float>, ArrayView<ushort>, int, int, ArrayView<float>, int, int, int>>(typeof(GemvKernels), nameof(GemvKernels.WarpPerColumn)));
        _rope = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int, int>>(typeof(RopeKernels), nameof(RopeKernels.Rope)));
        _actAndMul = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int>>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.ActAndMul)));
        _add = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Add)));
        _gather = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.GatherRows)));
        _argMax = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int>>(typeof(ArgMaxKernels), nameof(ArgMaxKernels.ArgMax)));
        _route = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>>(typeof(MoeKernels), nameof(MoeKernels.Route)));
        _expertGateUp = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, int>>(typeof(MoeKernels), nameof(MoeKernels.ExpertGateUp)));
        _expertDown = new(() => l.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int, int>>(typeof(MoeKernels), nameof(MoeKernels.ExpertDown)));
    }

    private static RocmTensor T(Tensor t) => RocmBackend.Own(t);

    /// <summary>A 1-D grid-stride launch covering <paramref name="work"/> items.</summary>
    private KernelConfig Stride(long work) => _b.Stride(work);

    /// <summary>One group per row, up to <see cref="MaxGroups"/> (kernels loop over the rest).</summary>
    private static KernelConfig PerRow(int rows, int threads) =>
        new(new Index1D(Math.Clamp(rows, 1, MaxGroups)), new Index1D(threads));

    private static void Same(Tensor a, Tensor b, string op)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{op}: {a} and {b} differ in element count");
    }

    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output)
    {
        var o = T(output); var id = T(ids);
        int vocab = table.Rows, hidden = (int)table.RowLength;
        if (o.RowLength != hidden || o.Rows != id.Length) throw new ArgumentException($"Embedding: table {table}, ids {ids}, out {output}");
        if (o.Length == 0) return;
        var w = _b.Float(table);
        _embedding.Value(_b.Stream, Stride(o.Length), w.F32, w.U16, w.Kind, id.I32, o.F32, vocab, hidden, scale);
    }

    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output) =>
        Norm(x, null, weight, eps, weightOffset, output);

    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output) =>
        Norm(x, residual, weight, eps, weightOffset, output);

    private void Norm(Tensor x, Tensor? residual, Tensor weight, float eps, float offset, Tensor output)
    {
        var xs = T(x); var o = T(output);
        int width = (int)xs.RowLength;
        if (weight.Length != width) throw new ArgumentException($"RmsNorm: weight {weight} does not match rows of {x}");
        Same(xs, o, "RmsNorm");
        if (residual is not null) Same(xs, residual, "AddRmsNorm");
        if (xs.Length == 0) return;
        var w = _b.Float(weight);
        var res = residual is null ? xs.F32 : T(residual).F32;
        _rmsNorm.Value(_b.Stream, PerRow(xs.Rows, _b.GroupSize(NormKernels.MaxGroupSize)), xs.F32, res, residual is null ? 0 : 1,
            w.F32, w.U16, w.Kind, o.F32, xs.Rows, width, eps, offset);
    }

    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output)
    {
        var xs = T(x); var o = T(output);
        int rows = xs.Rows, n = weight.Rows, k = (int)weight.RowLength;
        if (xs.RowLength != k || o.RowLength != n || o.Rows != rows)
            throw new ArgumentException($"Linear shapes: x {x}, weight {weight}, out {output}");
        if (bias is not null && bias.Length != n) throw new ArgumentException($"Linear: bias {bias} does not match {n} outputs");
        if (o.Length == 0) return;
        var w = _b.Float(weight);
        var bb = bias is null ? _b.NoFloat : _b.Float(bias);
        if (rows <= GemvKernels.MaxFewRows && _b.FewRowsGemm)
        {
            Gemv(xs, w, bb, bias is not null, o, rows, n, k);
            return;
        }
        // dx x dy threads compute (dy*8) x (dx*8) outputs; short batches get flatter groups so fewer rows are wasted.
        int dx = _b.GemmTile, dy = dx;
        while (dy > 1 && (dy / 2) * GemmKernels.Micro >= rows) dy /= 2;
        int bm = dy * GemmKernels.Micro, bn = dx * GemmKernels.Micro;
        var config = new KernelConfig(new Index2D((n + bn - 1) / bn, (rows + bm - 1) / bm), new Index2D(dx, dy));
        _linear.Value(_b.Stream, config, xs.F32, w.F32, w.U16, w.Kind, bb.F32, bb.U16, bb.Kind, bias is null ? 0 : 1,
            o.F32, rows, n, k);
    }

    /// <summary>The decode GEMV the backend's <see cref="RocmBackend.Gemv"/> names.</summary>
    private void Gemv(RocmTensor xs, FloatRef w, FloatRef bb, bool hasBias, RocmTensor o, int rows, int n, int k)
    {
        int group = _b.GroupSize(GemvKernels.MaxDotGroup);
        if (_b.Gemv == GemvVariant.Group)
        {
            _gemvGroup.Value(_b.Stream, PerRow(n, group), xs.F32, w.F32, w.U16, w.Kind,
                bb.F32, bb.U16, bb.Kind, hasBias ? 1 : 0, o.F32, rows, n, k);
            return;
        }
        int perGroup = group / Math.Min(GemvKernels.DotLanes, group);
        bool pairs = w.Kind != StorageKind.F32 && w.PairsAligned && k % 2 == 0;
        _gemvWarp.Value(_b.Stream, PerRow((n + perGroup - 1) / perGroup, group), xs.F32, w.F32, w.U16, w.Pairs, w.Kind,
            pairs ? 1 : 0, bb.F32, bb.U16, bb.Kind, hasBias ? 1 : 0, o.F32, rows, n, k);
    }

    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim)
    {
        var qs = T(q); var ks = T(k); var pos = T(positions); var table = T(cosSin);
        int rot = table.Shape[1];
        if (rot > headDim || rot % 2 != 0) throw new ArgumentException($"Rope: table {cosSin} rotates {rot} dims of heads of {headDim}");
        if (qs.RowLength % headDim != 0 || ks.RowLength % headDim != 0 || pos.Length != qs.Rows || ks.Rows != qs.Rows)
            throw new ArgumentException($"Rope shapes: q {q}, k {k}, positions {positions}, headDim {headDim}");
        if (qs.Rows == 0) return;
        int qHeads = (int)(qs.RowLength / headDim), kHeads = (int)(ks.RowLength / headDim);
        _rope.Value(_b.Stream, PerRow(qs.Rows, _b.GroupSize(64)), qs.F32, ks.F32, pos.I32, table.F32, qs.Rows, qHeads, kHeads, headDim, rot, table.Rows);
    }

    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output)
    {
        var g = T(gateUp); var o = T(output);
        int inter = (int)o.RowLength;
        if (g.RowLength != 2L * inter || g.Rows != o.Rows) throw new ArgumentException($"ActAndMul shapes: gateUp {gateUp}, out {output}");
        if (o.Length == 0) return;
        _actAndMul.Value(_b.Stream, Stride(o.Length), g.F32, o.F32, inter, Code(activation));
    }

    private static int Code(Activation a) => a switch
    {
        Activation.Silu => ActivationCode.Silu,
        Activation.GeluTanh => ActivationCode.GeluTanh,
        Activation.Gelu => ActivationCode.Gelu,
        _ => throw new NotSupportedException($"activation {a}"),
    };

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        var x = T(a); var y = T(b); var o = T(output);
        Same(x, y, "Add"); Same(x, o, "Add");
        if (o.Length == 0) return;
        _add.Value(_b.Stream, Stride(o.Length), x.F32, y.F32, o.F32);
    }

    public void GatherRows(Tensor x, Tensor rows, Tensor output)
    {
        var xs = T(x); var idx = T(rows); var o = T(output);
        if (o.RowLength != xs.RowLength || o.Rows != idx.Length) throw new ArgumentException($"GatherRows shapes: x {x}, rows {rows}, out {output}");
        if (o.Length == 0) return;
        _gather.Value(_b.Stream, Stride(o.Length), xs.F32, idx.I32, o.F32, xs.Rows, (int)xs.RowLength);
    }

    public void ArgMax(Tensor logits, Tensor ids)
    {
        var l = T(logits); var o = T(ids);
        if (o.Length != l.Rows) throw new ArgumentException($"ArgMax: ids {ids} for logits {logits}");
        if (l.Rows == 0) return;
        _argMax.Value(_b.Stream, PerRow(l.Rows, _b.GroupSize(ArgMaxKernels.MaxGroup)), l.F32, o.I32, l.Rows, (int)l.RowLength);
    }

    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output)
    {
        var xs = T(x); var logits = T(routerLogits); var o = T(output);
        if (gateUp.Shape.Length != 3 || down.Shape.Length != 3) throw new ArgumentException($"Moe: gateUp {gateUp} and down {down} must be [E, 2I, H] and [E, H, I]");
        int experts = gateUp.Shape[0], twoI = gateUp.Shape[1], h = gateUp.Shape[2], inter = twoI / 2;
        int tokens = xs.Rows;
        if (xs.RowLength != h || o.RowLength != h || o.Rows != tokens || logits.RowLength != experts || logits.Rows != tokens
            || down.Shape[0] != experts || down.Shape[1] != h || down.Shape[2] != inter)
            throw new ArgumentException($"Moe shapes: x {x}, logits {routerLogits}, gateUp {gateUp}, down {down}, out {output}");
        if (topK < 1 || topK > experts) throw new ArgumentOutOfRangeException(nameof(topK), $"top-k {topK} with {experts} experts");
        if (tokens == 0) return;
        var ids = Scratch(0, DType.I32, tokens * topK);
        var weights = Scratch(1, DType.F32, tokens * topK);
        var hidden = Scratch(2, DType.F32, tokens * topK * twoI);
        var act = Scratch(3, DType.F32, tokens * topK * inter);
        var gu = _b.Float(gateUp); var dn = _b.Float(down);
        _route.Value(_b.Stream, Stride(tokens), logits.F32, ids.I32, weights.F32, tokens, experts, topK, renormalize ? 1 : 0);
        _expertGateUp.Value(_b.Stream, Stride(hidden.Length), xs.F32, ids.I32, gu.F32, gu.U16, gu.Kind, hidden.F32, topK, twoI, h);
        _actAndMul.Value(_b.Stream, Stride(act.Length), hidden.F32, act.F32, inter, Code(activation));
        _expertDown.Value(_b.Stream, Stride(o.Length), act.F32, ids.I32, weights.F32, dn.F32, dn.U16, dn.Kind, o.F32, topK, inter, h);
    }

    /// <summary>Scratch tensor <paramref name="slot"/> of at least <paramref name="length"/> elements, grown by doubling.</summary>
    private RocmTensor Scratch(int slot, DType dtype, int length)
    {
        while (_moeScratch.Count <= slot) _moeScratch.Add(_b.Allocate(dtype, 0));
        if (_moeScratch[slot].Length < length)
        {
            _moeScratch[slot].Dispose();
            _moeScratch[slot] = _b.Allocate(dtype, Math.Max(length, (int)_moeScratch[slot].Length * 2));
        }
        return T(_moeScratch[slot].Slice(0, length));
    }

    public void Dispose()
    {
        foreach (var t in _moeScratch) t.Dispose();
    }
}
