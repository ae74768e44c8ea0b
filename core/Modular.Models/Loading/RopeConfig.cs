namespace Modular.Models.Loading;

/// <summary>Rotary embedding settings, from either <c>rope_parameters</c> (new) or <c>rope_theta</c> + <c>rope_scaling</c> (old).</summary>
public sealed record RopeConfig
{
    /// <summary>"default", "linear", "llama3" or "yarn".</summary>
    public string Type { get; init; } = "default";
    /// <summary>Base of the inverse frequencies.</summary>
    public double Theta { get; init; } = 10000;
    /// <summary>Scaling factor (linear, llama3, yarn).</summary>
    public double Factor { get; init; } = 1;
    /// <summary>llama3: low-frequency factor.</summary>
    public double LowFreqFactor { get; init; } = 1;
    /// <summary>llama3: high-frequency factor.</summary>
    public double HighFreqFactor { get; init; } = 4;
    /// <summary>llama3/yarn: context length the model was trained with.</summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }
    /// <summary>yarn: extrapolation boundary (in rotations).</summary>
    public double BetaFast { get; init; } = 32;
    /// <summary>yarn: interpolation boundary (in rotations).</summary>
    public double BetaSlow { get; init; } = 1;
    /// <summary>yarn: explicit attention (magnitude) factor.</summary>
    public double? AttentionFactor { get; init; }
    /// <summary>yarn: mscale.</summary>
    public double? MScale { get; init; }
    /// <summary>yarn: mscale_all_dim.</summary>
    public double? MScaleAllDim { get; init; }
    /// <summary>yarn: truncate the correction range to integers (HF default true).</summary>
    public bool Truncate { get; init; } = true;
    /// <summary>Fraction of each head's dimensions that rotate.</summary>
    public double PartialRotaryFactor { get; init; } = 1;
}
