using Modular.Abstractions;

namespace Modular.Models;

/// <summary>The weights of one decoder layer as the backend holds them.</summary>
public sealed class LayerWeights : IDisposable
{
    /// <summary>Pre-attention RMSNorm weight [H].</summary>
    public required Tensor InputNorm { get; init; }
    /// <summary>Pre-MLP RMSNorm weight [H].</summary>
    public required Tensor PostAttentionNorm { get; init; }
    /// <summary>Query projection.</summary>
    public required ILinear Q { get; init; }
    /// <summary>Key projection.</summary>
    public required ILinear K { get; init; }
    /// <summary>Value projection.</summary>
    public required ILinear V { get; init; }
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

    /// <summary>Frees every tensor.</summary>
    public void Dispose()
    {
        InputNorm.Dispose(); PostAttentionNorm.Dispose();
        Q.Dispose(); K.Dispose(); V.Dispose(); O.Dispose();
        QNorm?.Dispose(); KNorm?.Dispose();
        GateUp?.Dispose(); Down?.Dispose(); Router?.Dispose();
        ExpertsGateUp?.Dispose(); ExpertsDown?.Dispose();
    }
}
