namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IQuantizedKernels"/>: a quantized product whose input is the RMSNorm of the
/// residual stream (after adding the previous sublayer's output), computed where the kernels prepare their input (for
/// FP8, inside the per-token activation quantization), so a batch skips the norm's separate launch and the normalized
/// [T, K] intermediate.
/// </summary>
public interface IFusedQuantizedNormInputKernels
{
    /// <summary>
    /// residual [T, K] += add (when not null), then output [T, N] = RmsNorm(residual; normWeight [K], eps, weightOffset)
    /// W^T (+ bias) for <paramref name="weight"/> [N, K], with the same roundings as <see cref="IKernels.AddRmsNorm"/>
    /// followed by <see cref="IQuantizedKernels.LinearQuantized"/>. Returns false, having changed nothing, when this
    /// backend has no fused path for these shapes, formats, dtypes or this many rows.
    /// </summary>
    bool TryLinearQuantizedNormInput(Tensor? add, Tensor residual, Tensor normWeight, float eps, float weightOffset,
        QuantizedWeight weight, Tensor? bias, Tensor output);
}
