using Modular.Abstractions;

namespace Modular.Conformance;

/// <summary>
/// Allowed error per output dtype, as max |actual - expected| / max |expected| over the whole output (a max-norm
/// relative error, so near-zero elements do not dominate). F32 math lands far under 1e-4; BF16 storage alone is
/// 2^-9 relative per element, and kernels that round intermediates to BF16 stay near 1e-2.
/// </summary>
public static class Tolerance
{
    /// <summary>The tolerance for outputs stored as <paramref name="dtype"/>.</summary>
    public static double For(DType dtype) => dtype switch
    {
        DType.F32 => 1e-4,
        DType.F16 => 5e-3,
        DType.BF16 => 2e-2,
        _ => 0,
    };
}
