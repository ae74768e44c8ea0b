namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IQuantizedKernels"/>: a quantized product whose input is the add + RMSNorm of
/// <see cref="AddRmsNormInput"/>, computed in the product's own kernel, so a decode step skips the
/// <see cref="IKernels.AddRmsNorm"/> launch ahead of the projections that follow a norm (q|k|v and gate|up).
/// </summary>
public interface IFusedQuantizedNormKernels
{
    /// <summary>
    /// output = RMSNorm(norm.Residual + norm.Delta) W^T (+ bias), accumulated in float32; with
    /// <paramref name="gatedActivation"/> set, <paramref name="weight"/> is a stacked gate|up [2I, K] and output [T, I]
    /// = act(gate) * up (no bias). Writes <see cref="AddRmsNormInput.ResidualOut"/>. Returns false, having done
    /// nothing, when this backend has no fused path for these shapes, formats, dtypes or row count.
    /// </summary>
    bool TryLinearQuantizedAddRmsNorm(AddRmsNormInput norm, QuantizedWeight weight, Tensor? bias, Activation? gatedActivation, Tensor output);
}
