namespace Modular.Abstractions;

/// <summary>
/// The residual update and RMSNorm that precede a projection in a pre-norm decoder layer, handed to the projection
/// so that its kernel can compute them in its prologue instead of a separate <see cref="IKernels.AddRmsNorm"/> launch:
/// h = <see cref="Residual"/> + <see cref="Delta"/>, rounded to the activation dtype, is written to
/// <see cref="ResidualOut"/>, and the product's input is h / sqrt(mean(h^2) + <see cref="Eps"/>) *
/// (<see cref="WeightOffset"/> + <see cref="Weight"/>), as <see cref="IKernels.AddRmsNorm"/> computes it.
/// </summary>
/// <param name="Delta">[T, H] the previous sub-block's output.</param>
/// <param name="Residual">[T, H] the residual stream before the update; left unchanged.</param>
/// <param name="ResidualOut">
/// [T, H] receives the updated residual stream. Must not alias <paramref name="Residual"/> or <paramref name="Delta"/>:
/// a fused kernel's blocks all read those while one of them writes this.
/// </param>
/// <param name="Weight">[H] the norm's weight.</param>
/// <param name="Eps">The norm's epsilon.</param>
/// <param name="WeightOffset">Added to the weight (1 for Gemma's (1 + w) norms, else 0).</param>
public sealed record AddRmsNormInput(Tensor Delta, Tensor Residual, Tensor ResidualOut, Tensor Weight, float Eps, float WeightOffset);
