namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IQuantizedKernels"/>: a quantized product whose input is act(gate) * up of a
/// stacked gate|up tensor, computed where the kernels prepare their input (for FP8, inside the per-token activation
/// quantization), so a batch skips the <see cref="IKernels.ActAndMul"/> launch and its intermediate.
/// </summary>
public interface IFusedQuantizedGatedInputKernels
{
    /// <summary>
    /// output [T, N] = (act(gateUp[:, :K]) * gateUp[:, K:]) W^T (+ bias) for gateUp [T, 2K] and <paramref name="weight"/>
    /// [N, K]. Returns false, having done nothing, when this backend has no fused path for these shapes, formats,
    /// dtypes or this many rows.
    /// </summary>
    bool TryLinearQuantizedGatedInput(Tensor gateUp, Activation activation, QuantizedWeight weight, Tensor? bias, Tensor output);
}
