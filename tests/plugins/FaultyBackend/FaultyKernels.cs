using Modular.Abstractions;

namespace Modular.TestPlugins.FaultyBackend;

/// <summary>The inner kernels, with the embedding lookup checked for the trigger token.</summary>
internal sealed class FaultyKernels(FaultyBackend owner, IKernels inner) : IKernels
{
    public void Embedding(Tensor table, Tensor ids, float scale, Tensor output)
    {
        owner.OnEmbedding(ids);
        inner.Embedding(table, ids, scale, output);
    }

    public void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output) => inner.RmsNorm(x, weight, eps, weightOffset, output);
    public void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output) => inner.AddRmsNorm(x, residual, weight, eps, weightOffset, output);
    public void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output) => inner.Linear(x, weight, bias, output);
    public void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim) => inner.Rope(q, k, positions, cosSin, headDim);
    public void ActAndMul(Tensor gateUp, Activation activation, Tensor output) => inner.ActAndMul(gateUp, activation, output);
    public void Add(Tensor a, Tensor b, Tensor output) => inner.Add(a, b, output);
    public void GatherRows(Tensor x, Tensor rows, Tensor output) => inner.GatherRows(x, rows, output);
    public void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize, Activation activation, Tensor output) =>
        inner.Moe(x, routerLogits, gateUp, down, topK, renormalize, activation, output);
}

/// <summary>The inner attention, counting steps and checking the KV budget.</summary>
internal sealed class FaultyAttention(FaultyBackend owner, IAttentionBackend inner) : IAttentionBackend
{
    public KvCache CreateCache(KvCacheSpec spec)
    {
        owner.OnCreateCache(spec);
        return inner.CreateCache(spec);
    }

    public void Prepare(AttentionMetadata metadata)
    {
        owner.OnStep();
        inner.Prepare(metadata);
    }

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata metadata, in AttentionParams p, Tensor output) =>
        inner.Forward(layer, q, k, v, cache, metadata, p, output);
}
