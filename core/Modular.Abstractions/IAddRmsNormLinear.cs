namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="ILinear"/>: the product of the add + RMSNorm that precedes it in a decoder
/// layer (<see cref="AddRmsNormInput"/>), in one kernel where the backend has one
/// (<see cref="IFusedQuantizedNormKernels"/> for quantized weights). The model runner asks first and falls back to
/// <see cref="IKernels.AddRmsNorm"/> + <see cref="ILinear.Forward"/> (or <see cref="IGatedLinear.TryForwardActAndMul"/>).
/// </summary>
public interface IAddRmsNormLinear : ILinear
{
    /// <summary>
    /// output = x W^T (+ bias) for x = the normed <paramref name="norm"/> rows, or, with
    /// <paramref name="gatedActivation"/> set and a stacked gate|up weight [2I, K], output [T, I] = act(x W_gate^T) *
    /// (x W_up^T); writes <see cref="AddRmsNormInput.ResidualOut"/>. Returns false, having done nothing, when no fused
    /// kernel serves this call (the shapes, dtypes, row count or backend).
    /// </summary>
    bool TryForwardAddRmsNorm(AddRmsNormInput norm, Activation? gatedActivation, Tensor output);
}
