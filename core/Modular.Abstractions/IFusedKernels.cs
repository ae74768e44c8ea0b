namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IKernels"/>: the attention input of one fused q|k|v projection split into
/// contiguous q, k and v with the rotary embedding applied on the way, so a layer needs one GEMM and one small
/// kernel instead of three GEMMs and a rope pass.
/// </summary>
public interface IFusedQkvKernels
{
    /// <summary>
    /// qkv [T, (Hq + 2 Hk) * D] -> q [T, Hq*D] and k [T, Hk*D] rotated as <see cref="IKernels.Rope"/> does (same
    /// cosSin table and positions), v [T, Hk*D] copied.
    /// </summary>
    void SplitQkvRope(Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, Tensor k, Tensor v);
}
