using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// Every <see cref="IKernels"/> op as plain loops over float32 spans: no SIMD, no threads, so each op reads like
/// its contract. Tensors are row-major with tokens as the first dimension. Each op checks the shapes it relies on
/// first and says which argument is wrong, since a backend that silently reads past a row corrupts the model.
/// </summary>
internal sealed class ScalarKernels : IKernels
{
    private static ScalarTensor Own(Tensor t) => ScalarDevice.Own(t);

    /// <inheritdoc />
    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output)
    {
        var tab = Own(table);
        int vocab = tab.Rows, hidden = (int)tab.RowLength;
        Shapes.Require(output.Rows == ids.Length && output.RowLength == hidden, "Embedding", $"output {output} must be [{ids.Length},{hidden}] for ids {ids} and table {table}");
        var tokens = Own(ids).Ints;
        var weights = tab.Floats;
        var o = Own(output).Floats;
        for (int t = 0; t < tokens.Length; t++)
        {
            int id = tokens[t];
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: token id {id} at row {t} is outside the vocabulary of {vocab}");
            var row = weights.Slice(id * hidden, hidden);
            var dst = o.Slice(t * hidden, hidden);
            for (int h = 0; h < hidden; h++) dst[h] = row[h] * scale;
        }
    }

    /// <inheritdoc />
    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        int hidden = (int)weight.Length;
        Shapes.Require(x.RowLength == hidden && output.Length == x.Length, "RmsNorm", $"x {x} and output {output} must be [T,{hidden}] for weight {weight}");
        var xs = Own(x).Floats;
        var w = Own(weight).Floats;
        var o = Own(output).Floats;
        for (int r = 0; r < x.Rows; r++)
            NormalizeRow(xs.Slice(r * hidden, hidden), w, eps, weightOffset, o.Slice(r * hidden, hidden));
    }

    /// <inheritdoc />
    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output)
    {
        int hidden = (int)weight.Length;
        Shapes.Require(x.RowLength == hidden && residual.Length == x.Length && output.Length == x.Length, "AddRmsNorm",
            $"x {x}, residual {residual} and output {output} must all be [T,{hidden}] for weight {weight}");
        var xs = Own(x).Floats;
        var res = Own(residual).Floats;
        var w = Own(weight).Floats;
        var o = Own(output).Floats;
        for (int i = 0; i < res.Length; i++) res[i] += xs[i];
        for (int r = 0; r < x.Rows; r++)
            NormalizeRow(res.Slice(r * hidden, hidden), w, eps, weightOffset, o.Slice(r * hidden, hidden));
    }

    /// <summary>o = x / sqrt(mean(x^2) + eps) * (offset + w). Gemma stores w - 1 and passes offset 1.</summary>
    private static void NormalizeRow(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, float offset, Span<float> o)
    {
        float sumOfSquares = 0;
        for (int i = 0; i < x.Length; i++) sumOfSquares += x[i] * x[i];
        float inverseRms = 1f / MathF.Sqrt(sumOfSquares / x.Length + eps);
        for (int i = 0; i < x.Length; i++) o[i] = x[i] * inverseRms * (offset + w[i]);
    }

    /// <inheritdoc />
    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output)
    {
        int tokens = x.Rows, k = (int)x.RowLength, n = weight.Rows;
        Shapes.Require(weight.RowLength == k, "Linear", $"weight {weight} must be [N,{k}] for x {x}");
        Shapes.Require(output.Rows == tokens && output.RowLength == n, "Linear", $"output {output} must be [{tokens},{n}] for x {x} and weight {weight}");
        Shapes.Require(bias is null || bias.Length == n, "Linear", $"bias {bias} must have {n} elements");
        var xs = Own(x).Floats;
        var w = Own(weight).Floats;
        var b = bias is null ? default : Own(bias).Floats;
        var o = Own(output).Floats;
        for (int t = 0; t < tokens; t++)
        {
            var xRow = xs.Slice(t * k, k);
            for (int j = 0; j < n; j++)
            {
                // Row j of W is output feature j's weights over the k inputs: y = x W^T.
                var wRow = w.Slice(j * k, k);
                float sum = 0;
                for (int i = 0; i < k; i++) sum += xRow[i] * wRow[i];
                o[t * n + j] = bias is null ? sum : sum + b[j];
            }
        }
    }

    /// <inheritdoc />
    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim)
    {
        int rot = cosSin.Shape[1], half = rot / 2, maxPos = cosSin.Rows;
        Shapes.Require(rot <= headDim && rot % 2 == 0, "Rope", $"cosSin {cosSin} rotates {rot} dims; it must be even and at most the head dim {headDim}");
        Shapes.Require(q.RowLength % headDim == 0 && k.RowLength % headDim == 0, "Rope", $"q {q} and k {k} rows must be whole heads of {headDim}");
        Shapes.Require(positions.Length == q.Rows && k.Rows == q.Rows, "Rope", $"positions {positions}, q {q} and k {k} must have one row per token");
        var pos = Own(positions).Ints;
        var table = Own(cosSin).Floats;
        var qs = Own(q).Floats;
        var ks = Own(k).Floats;
        int qWidth = (int)q.RowLength, kWidth = (int)k.RowLength;
        for (int t = 0; t < pos.Length; t++)
        {
            int p = pos[t];
            if ((uint)p >= (uint)maxPos) throw new ArgumentOutOfRangeException(nameof(positions), $"Rope: position {p} at row {t} is beyond the cos/sin table ({maxPos} positions)");
            var cos = table.Slice(p * rot, half);
            var sin = table.Slice(p * rot + half, half);
            RotateHeads(qs.Slice(t * qWidth, qWidth), headDim, cos, sin);
            RotateHeads(ks.Slice(t * kWidth, kWidth), headDim, cos, sin);
        }
    }

    /// <summary>
    /// Rotate-half (NeoX) style: dims i and i + rot/2 of each head form a pair rotated by angle i. Dims past rot are
    /// left alone (partial rotary, e.g. rot 32 of head dim 64).
    /// </summary>
    private static void RotateHeads(Span<float> row, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = cos.Length;
        for (int head = 0; head < row.Length / headDim; head++)
        {
            var x = row.Slice(head * headDim, headDim);
            for (int i = 0; i < half; i++)
            {
                float a = x[i], b = x[i + half];
                x[i] = a * cos[i] - b * sin[i];
                x[i + half] = b * cos[i] + a * sin[i];
            }
        }
    }

    /// <inheritdoc />
    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output)
    {
        int inter = (int)output.RowLength;
        Shapes.Require(gateUp.RowLength == 2 * inter && gateUp.Rows == output.Rows, "ActAndMul", $"gateUp {gateUp} must be [T,{2 * inter}] for output {output}");
        var gu = Own(gateUp).Floats;
        var o = Own(output).Floats;
        for (int t = 0; t < output.Rows; t++)
            ActivateRow(gu.Slice(t * 2 * inter, 2 * inter), activation, o.Slice(t * inter, inter));
    }

    /// <summary>o[i] = act(gateUp[i]) * gateUp[inter + i]: the gate half first, then the up half.</summary>
    private static void ActivateRow(ReadOnlySpan<float> gateUp, Activation activation, Span<float> o)
    {
        int inter = o.Length;
        for (int i = 0; i < inter; i++)
        {
            float g = gateUp[i];
            float a = activation switch
            {
                Activation.Silu => Activations.Silu(g),
                Activation.GeluTanh => Activations.GeluTanh(g),
                Activation.Gelu => Activations.Gelu(g),
                _ => throw new NotSupportedException($"ActAndMul: activation {activation} is not implemented by {ScalarPlugin.PluginName}"),
            };
            o[i] = a * gateUp[inter + i];
        }
    }

    /// <inheritdoc />
    public void Add(Tensor a, Tensor b, Tensor output)
    {
        Shapes.Require(a.Length == b.Length && a.Length == output.Length, "Add", $"a {a}, b {b} and output {output} must have the same number of elements");
        var x = Own(a).Floats;
        var y = Own(b).Floats;
        var o = Own(output).Floats;
        // Element i is read before it is written, so output may be a itself.
        for (int i = 0; i < o.Length; i++) o[i] = x[i] + y[i];
    }

    /// <inheritdoc />
    public void GatherRows(Tensor x, Tensor rows, Tensor output)
    {
        int width = (int)x.RowLength;
        Shapes.Require(output.Rows == rows.Length && output.RowLength == width, "GatherRows", $"output {output} must be [{rows.Length},{width}] for x {x}");
        var src = Own(x).Floats;
        var idx = Own(rows).Ints;
        var o = Own(output).Floats;
        for (int i = 0; i < idx.Length; i++)
        {
            int r = idx[i];
            if ((uint)r >= (uint)x.Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"GatherRows: row index {r} at {i} is outside x {x}");
            src.Slice(r * width, width).CopyTo(o.Slice(i * width, width));
        }
    }

    /// <inheritdoc />
    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output) =>
        MixtureOfExperts.Run(Own(x), Own(routerLogits), Own(gateUp), Own(down), topK, renormalize, activation, Own(output), ActivateRow);
}

/// <summary>Shape checks whose failures name the op and the offending tensors.</summary>
internal static class Shapes
{
    /// <summary>Throws <see cref="ArgumentException"/> "op: what" when <paramref name="ok"/> is false.</summary>
    public static void Require(bool ok, string op, string what)
    {
        if (!ok) throw new ArgumentException($"{op}: {what}");
    }
}
