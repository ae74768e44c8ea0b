using Modular.Abstractions;

namespace Modular.Models;

/// <summary>The weights of one decoder layer as the backend holds them.</summary>
public sealed class LayerWeights : IDisposable
{
    /// <summary>Pre-attention RMSNorm weight [H].</summary>
    public required Tensor InputNorm { get; init; }
    /// <summary>Pre-MLP RMSNorm weight [H].</summary>
    public required Tensor PostAttentionNorm { get; init; }
    /// <summary>
    /// q, k and v stacked along the output dimension [Hq*D + 2*Hk*D, H] as one linear (vLLM's QKVParallelLinear),
    /// or null when they were loaded as three (<see cref="Q"/>, <see cref="K"/>, <see cref="V"/>).
    /// </summary>
    public ILinear? Qkv { get; init; }
    /// <summary>Query projection; null when q|k|v are fused into <see cref="Qkv"/>.</summary>
    public ILinear? Q { get; init; }
    /// <summary>Key projection; null when q|k|v are fused into <see cref="Qkv"/>.</summary>
    public ILinear? K { get; init; }
    /// <summary>Value projection; null when q|k|v are fused into <see cref="Qkv"/>.</summary>
    public ILinear? V { get; init; }
    /// <summary>Output projection.</summary>
    public required ILinear O { get; init; }
    /// <summary>Per-head query RMSNorm [D] (Qwen3) or null.</summary>
    public Tensor? QNorm { get; init; }
    /// <summary>Per-head key RMSNorm [D] (Qwen3) or null.</summary>
    public Tensor? KNorm { get; init; }
    /// <summary>Dense MLP: gate and up projections fused along the output dimension [2I, H].</summary>
    public ILinear? GateUp { get; init; }
    /// <summary>Dense MLP: down projection.</summary>
    public ILinear? Down { get; init; }
    /// <summary>MoE: router [E, H].</summary>
    public ILinear? Router { get; init; }
    /// <summary>MoE: experts' fused gate/up [E, 2I, H].</summary>
    public Tensor? ExpertsGateUp { get; init; }
    /// <summary>MoE: experts' down [E, H, I].</summary>
    public Tensor? ExpertsDown { get; init; }

    /// <summary>
    /// Every projection the layer holds, with its name ("qkv" or "q", "k", "v", then "o", "gate_up", "down",
    /// "router"), skipping those it has not: for callers that walk projections (parameter counts, benchmarks).
    /// </summary>
    public IEnumerable<(string Name, ILinear Linear)> Linears
    {
        get
        {
            if (Qkv is not null) yield return ("qkv", Qkv);
            if (Q is not null) yield return ("q", Q);
            if (K is not null) yield return ("k", K);
            if (V is not null) yield return ("v", V);
            yield return ("o", O);
            if (GateUp is not null) yield return ("gate_up", GateUp);
            if (Down is not null) yield return ("down", Down);
            if (Router is not null) yield return ("router", Router);
        }
    }

    /// <summary>Frees every tensor.</summary>
    public void Dispose()
    {
        InputNorm.Dispose(); PostAttentionNorm.Dispose();
        Qkv?.Dispose(); Q?.Dispose(); K?.Dispose(); V?.Dispose(); O.Dispose();
        QNorm?.Dispose(); KNorm?.Dispose();
        GateUp?.Dispose(); Down?.Dispose(); Router?.Dispose();
        ExpertsGateUp?.Dispose(); ExpertsDown?.Dispose();
    }
}
