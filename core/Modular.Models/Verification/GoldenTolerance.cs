using Modular.Abstractions;

namespace Modular.Models.Verification;

/// <summary>
/// The bound a golden case is held to. Float32 backends: the absolute logit error (and the prompt log-probability
/// error). Reduced-precision backends: the logit error relative to the largest reference logit, because bf16's
/// rounding grows with the logits' scale - one bf16 step is 0.125 for logits between 16 and 32, so an absolute
/// 5e-2 cannot hold there however exact the kernels are. Log-softmax is 2-Lipschitz in the largest-element norm, so
/// the prompt log-probability error is bounded by the logit bound and is reported, not judged separately.
/// </summary>
/// <param name="Relative">True for the relative (reduced-precision) measure.</param>
/// <param name="Bound">The largest error that passes, in that measure.</param>
public readonly record struct GoldenTolerance(bool Relative, double Bound)
{
    /// <summary>The default for a backend computing in <paramref name="activations"/>: 1e-3 absolute for F32, else 2e-2 relative.</summary>
    public static GoldenTolerance For(DType activations) => activations == DType.F32 ? new(false, 1e-3) : new(true, 2e-2);

    /// <summary>The case's error in this measure.</summary>
    public double Error(GoldenCaseResult r) => Relative ? r.RelativeError : r.MaxAbsError;

    /// <summary>Within the bound, and greedy ids equal up to a legitimately fragile step.</summary>
    public bool Passes(GoldenCaseResult r) =>
        Error(r) <= Bound && (Relative || r.MaxPromptLogprobError <= Bound) && (r.GreedyMatched == r.GreedyTotal || r.FragileDivergence);

    /// <inheritdoc />
    public override string ToString() => Relative ? $"{Bound:E0} of the largest reference logit" : $"{Bound:E0} absolute";
}
