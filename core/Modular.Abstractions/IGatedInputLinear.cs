namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="ILinear"/> that follows a gated activation (an MLP's down projection): the
/// product of act(gate) * up taken straight from the stacked gate|up output, where the backend folds the activation
/// into how it reads its input (<see cref="IFusedQuantizedGatedInputKernels"/>: into the FP8 activation quantization).
/// The model runner asks first and falls back to <see cref="IKernels.ActAndMul"/> + <see cref="ILinear.Forward"/>.
/// </summary>
public interface IGatedInputLinear : ILinear
{
    /// <summary>
    /// output [T, N] = (act(gateUp[:, :K]) * gateUp[:, K:]) W^T (+ bias) for gateUp [T, 2K], the product's input rounded
    /// to the activation dtype as <see cref="IKernels.ActAndMul"/> stores it. Returns false, having done nothing, when
    /// no fused path serves this call (the batch size, shapes, dtypes or backend).
    /// </summary>
    bool TryForwardGatedInput(Tensor gateUp, Activation activation, Tensor output);
}
