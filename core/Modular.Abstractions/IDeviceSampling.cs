namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IKernels"/>: greedy token choice on the device, so a decode step returns
/// token ids (4 bytes per sequence) instead of a row of float32 logits per sequence.
/// </summary>
public interface IDeviceArgMax
{
    /// <summary>
    /// ids[r] = the smallest index of the largest value of logits row r. logits F32 [R, V], ids I32 [R].
    /// NaN entries never win.
    /// </summary>
    void ArgMax(Tensor logits, Tensor ids);
}
