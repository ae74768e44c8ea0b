using System.Numerics.Tensors;
using Modular.Abstractions;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Cpu;

/// <summary>
/// float32 reference implementations of <see cref="IKernels"/>. Inner loops are TensorPrimitives calls (SIMD);
/// work is split across cores only when it is large enough to pay for the fork. Implements the fused q|k|v split
/// too, so CPU runs (tests, goldens) load and run models the way the GPU backends do.
/// </summary>
internal sealed unsafe partial class CpuKernels(CpuBackend backend) : IKernels, IQuantizedKernels, IFusedQkvKernels
{
    /// <summary>Below this many multiply-adds an op runs on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 15;

    private static CpuTensor T(Tensor t) => CpuBackend.Own(t);

    private void For(int count, long workPerItem, Action<int> body)
    {
        if (count == 1 || count * workPerItem < ParallelThreshold)
            for (int i = 0; i < count; i++) body(i);
        else Parallel.For(0, count, backend.Parallel, body);
    }

    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output)
    {
        var tab = T(table); var id = T(ids); var o = T(output);
        int vocab = tab.Rows;
        for (int t = 0; t < o.Rows; t++)
        {
            int tok = id.I32[t];
            if ((uint)tok >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {tok} outside vocabulary of {vocab}");
            if (scale == 1f) tab.Row(tok).CopyTo(o.Row(t));
            else TensorPrimitives.Multiply(tab.Row(tok), scale, o.Row(t));
        }
    }

    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        var xs = T(x); var w = T(weight); var o = T(output);
        For(xs.Rows, xs.RowLength, r => NormRow(xs.Row(r), w.AsF32(), eps, weightOffset, o.Row(r)));
    }

    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        var xs = T(x); var res = T(residual); var w = T(weight); var o = T(output);
        For(xs.Rows, xs.RowLength, r =>
        {
            var rr = res.Row(r);
            TensorPrimitives.Add(rr, xs.Row(r), rr);
            NormRow(rr, w.AsF32(), eps, weightOffset, o.Row(r));
        });
    }

    private static void NormRow(Span<float> x, Span<float> w, float eps, float offset, Span<float> o)
    {
        float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + eps);
        TensorPrimitives.Multiply(x, inv, o);
        if (offset == 0f) TensorPrimitives.Multiply(o, w, o);
        else
            for (int i = 0; i < o.Length; i++) o[i] *= offset + w[i];
    }

    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output)
    {
        var xs = T(x); var w = T(weight); var o = T(output);
        int rows = xs.Rows, n = w.Rows, k = (int)w.RowLength;
        if (xs.RowLength != k || o.RowLength != n || o.Rows != rows)
            throw new ArgumentException($"linear shapes: x {xs}, weight {w}, out {o}");
        float* b = bias is null ? null : T(bias).F32;
        // Blocks of weight rows, so one block stays in cache while every token row streams past it.
        const int block = 16;
        int blocks = (n + block - 1) / block;
        float* xp = xs.F32, wp = w.F32, op = o.F32;
        For(blocks, (long)block * k * rows, bi => GemmKernel.Rows(xp, rows, wp, bi * block, Math.Min(n, bi * block + block), k, op, n, b));
    }

    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim)
    {
        var qs = T(q); var ks = T(k); var pos = T(positions); var table = T(cosSin);
        int rot = table.Shape[1], half = rot / 2, maxPos = table.Rows;
        int qHeads = (int)(qs.RowLength / headDim), kHeads = (int)(ks.RowLength / headDim);
        for (int t = 0; t < qs.Rows; t++)
        {
            int p = pos.I32[t];
            if ((uint)p >= (uint)maxPos) throw new ArgumentOutOfRangeException(nameof(positions), $"position {p} beyond the rope table ({maxPos})");
            float* cos = table.F32 + (long)p * rot, sin = cos + half;
            RotateHeads(qs.F32 + (long)t * qs.RowLength, qHeads, headDim, half, cos, sin);
            RotateHeads(ks.F32 + (long)t * ks.RowLength, kHeads, headDim, half, cos, sin);
        }
    }

    public void SplitQkvRope(Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, Tensor k, Tensor v)
    {
        var src = T(qkv); var qs = T(q); var ks = T(k); var vs = T(v);
        int nq = (int)qs.RowLength, nk = (int)ks.RowLength, tokens = qs.Rows;
        if (src.Rows != tokens || ks.Rows != tokens || vs.Rows != tokens || vs.RowLength != nk || src.RowLength != nq + 2L * nk)
            throw new ArgumentException($"SplitQkvRope shapes: qkv {src} must be [{tokens}, {nq} + 2*{nk}] for q {qs}, k {ks}, v {vs}");
        for (int t = 0; t < tokens; t++)
        {
            var row = src.Row(t);
            row[..nq].CopyTo(qs.Row(t));
            row.Slice(nq, nk).CopyTo(ks.Row(t));
            row.Slice(nq + nk, nk).CopyTo(vs.Row(t));
        }
        // The copies are a few KB per token next to the GEMM that made them: rotating in place afterwards keeps one
        // rope implementation.
        Rope(q, k, positions, cosSin, headDim);
    }

    private static void RotateHeads(float* row, int heads, int headDim, int half, float* cos, float* sin)
    {
        for (int h = 0; h < heads; h++)
        {
            float* x = row + h * headDim;
            for (int i = 0; i < half; i++)
            {
                float a = x[i], b = x[i + half];
                x[i] = a * cos[i] - b * sin[i];
                x[i + half] = b * cos[i] + a * sin[i];
            }
        }
    }

    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output)
    {
        var g = T(gateUp); var o = T(output);
        int inter = (int)o.RowLength;
        For(o.Rows, inter * 8, r => ActRow(g.Row(r), activation, o.Row(r), inter));
    }

    private static void ActRow(Span<float> gu, Activation act, Span<float> o, int inter)
    {
        var gate = gu[..inter];
        var up = gu.Slice(inter, inter);
        switch (act)
        {
            case Activation.Silu:
                // silu(g) = g * sigmoid(g)
                TensorPrimitives.Sigmoid(gate, o);
                TensorPrimitives.Multiply(o, gate, o);
                break;
            case Activation.GeluTanh:
                for (int i = 0; i < inter; i++)
                {
                    float x = gate[i];
                    o[i] = 0.5f * x * (1f + MathF.Tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
                }
                break;
            case Activation.Gelu:
                for (int i = 0; i < inter; i++) o[i] = (float)(0.5 * gate[i] * (1 + Erf.Of(gate[i] / Math.Sqrt(2))));
                break;
            default:
                throw new NotSupportedException(act.ToString());
        }
        TensorPrimitives.Multiply(o, up, o);
    }

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        var x = T(a); var y = T(b); var o = T(output);
        TensorPrimitives.Add(x.AsF32(), y.AsF32(), o.AsF32());
    }

    public void GatherRows(Tensor x, Tensor rows, Tensor output)
    {
        var xs = T(x); var idx = T(rows); var o = T(output);
        for (int i = 0; i < o.Rows; i++)
        {
            int r = idx.I32[i];
            if ((uint)r >= (uint)xs.Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} outside {xs}");
            xs.Row(r).CopyTo(o.Row(i));
        }
    }

    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output)
    {
        var xs = T(x); var logits = T(routerLogits); var gu = T(gateUp); var dn = T(down); var o = T(output);
        int experts = gu.Shape[0], twoI = gu.Shape[1], h = gu.Shape[2], inter = twoI / 2;
        For(xs.Rows, (long)topK * 3 * inter * h, t =>
        {
            Span<float> probs = stackalloc float[experts];
            TensorPrimitives.SoftMax(logits.Row(t), probs);
            Span<int> chosen = stackalloc int[topK];
            Span<float> weights = stackalloc float[topK];
            for (int k = 0; k < topK; k++)
            {
                int best = TensorPrimitives.IndexOfMax(probs);
                chosen[k] = best;
                weights[k] = probs[best];
                probs[best] = float.NegativeInfinity;
            }
            if (renormalize) TensorPrimitives.Divide(weights, TensorPrimitives.Sum(weights), weights);
            var xr = xs.Row(t);
            var orow = o.Row(t);
            orow.Clear();
            // Rented per token: the MoE body runs on pool threads, so no shared scratch.
            var hiddenBuf = System.Buffers.ArrayPool<float>.Shared.Rent(twoI);
            var actBuf = System.Buffers.ArrayPool<float>.Shared.Rent(inter);
            var hidden = hiddenBuf.AsSpan(0, twoI);
            var act = actBuf.AsSpan(0, inter);
            for (int k = 0; k < topK; k++)
            {
                int e = chosen[k];
                float* we = gu.F32 + (long)e * twoI * h;
                for (int j = 0; j < twoI; j++) hidden[j] = TensorPrimitives.Dot(xr, new ReadOnlySpan<float>(we + (long)j * h, h));
                ActRow(hidden, activation, act, inter);
                float* wd = dn.F32 + (long)e * h * inter;
                for (int j = 0; j < h; j++) orow[j] += weights[k] * TensorPrimitives.Dot(act, new ReadOnlySpan<float>(wd + (long)j * inter, inter));
            }
            System.Buffers.ArrayPool<float>.Shared.Return(hiddenBuf);
            System.Buffers.ArrayPool<float>.Shared.Return(actBuf);
        });
    }
}
