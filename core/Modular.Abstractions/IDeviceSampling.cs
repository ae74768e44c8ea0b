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

/// <summary>
/// One row's settings for <see cref="IDeviceSampler"/>: the sampler's random branch without anything that edits
/// logits (bias, penalties, masks stay on the host sampler).
/// </summary>
/// <param name="Temperature">Below 1e-5 the row takes the argmax (lowest id on ties).</param>
/// <param name="TopK">Keep the k most likely tokens (ties at the k-th kept); 0 or negative keeps all.</param>
/// <param name="TopP">Keep the most likely tokens until their mass reaches this share; 1 keeps all.</param>
/// <param name="MinP">Keep tokens at least this fraction as likely as the top one; 0 keeps all.</param>
/// <param name="Uniform">The draw in [0, 1), taken by the caller from the sequence's own random stream.</param>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
public readonly record struct DeviceSamplingRow(float Temperature, int TopK, float TopP, float MinP, float Uniform);

/// <summary>
/// Optional capability of an <see cref="IKernels"/>: temperature, min-p, top-k and top-p sampling on the device,
/// in the host sampler's order (probability floor from min-p and top-k, then the top-p cut, then one inverse-CDF
/// draw over token ids in ascending order), so a sampled decode step also returns ids instead of logits.
/// </summary>
public interface IDeviceSampler
{
    /// <summary>
    /// ids[r] = the token drawn from logits row r with <paramref name="rows"/>[r], or -1 where the row has no finite
    /// logit. logits F32 [R, V], ids I32 [R], rows.Length == R.
    /// </summary>
    void Sample(Tensor logits, ReadOnlySpan<DeviceSamplingRow> rows, Tensor ids);
}
