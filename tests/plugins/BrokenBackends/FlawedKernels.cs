using Modular.Abstractions;

namespace Modular.TestPlugins.BrokenBackends;

/// <summary>The inner backend's kernels, with the rope, norm or bias flaw applied to the matching op.</summary>
internal sealed class FlawedKernels(IBackend inner, Flaw flaw) : IKernels
{
    private readonly IKernels _k = inner.Kernels;

    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output) => _k.Embedding(table, ids, scale, output);

    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output) =>
        _k.RmsNorm(x, weight, eps, flaw == Flaw.Norm ? 0f : weightOffset, output);

    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output) =>
        _k.AddRmsNorm(x, residual, weight, eps, flaw == Flaw.Norm ? 0f : weightOffset, output);

    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output) =>
        _k.Linear(x, weight, flaw == Flaw.Bias ? null : bias, output);

    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim)
    {
        if (flaw != Flaw.Rope)
        {
            _k.Rope(q, k, positions, cosSin, headDim);
            return;
        }
        // The off-by-one: every token is rotated for the next position (wrapping at the table's end to stay in range).
        var pos = new int[positions.Length];
        inner.DownloadI32(positions, pos);
        int maxPos = cosSin.Rows;
        for (int i = 0; i < pos.Length; i++) pos[i] = (pos[i] + 1) % maxPos;
        using var shifted = inner.Allocate(DType.I32, pos.Length);
        inner.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pos.AsSpan()), DType.I32, shifted);
        _k.Rope(q, k, shifted, cosSin, headDim);
    }

    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output) => _k.ActAndMul(gateUp, activation, output);

    public void Add(Tensor a, Tensor b, Tensor output) => _k.Add(a, b, output);

    public void GatherRows(Tensor x, Tensor rows, Tensor output) => _k.GatherRows(x, rows, output);

    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output) =>
        _k.Moe(x, routerLogits, gateUp, down, topK, renormalize, activation, output);
}
