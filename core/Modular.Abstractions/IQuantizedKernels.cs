namespace Modular.Abstractions;

/// <summary>Element encodings of a <see cref="QuantizedWeight"/>.</summary>
public enum QuantizedFormat
{
    /// <summary>
    /// Unsigned 4-bit integer codes q in [0, 15]. Each row of <see cref="QuantizedWeight.Data"/> holds
    /// <c>ceil(K/32)</c> blocks of 16 bytes; byte j of a block carries the code of input <c>32b + j</c> in its low
    /// nibble and of input <c>32b + 16 + j</c> in its high nibble (so one 16-byte load unpacks into two runs of 16
    /// consecutive inputs). Codes past K are padding and must be ignored.
    /// </summary>
    Int4,
    /// <summary>Unsigned 8-bit integer codes q in [0, 255], one byte per input, K bytes per row.</summary>
    Int8,
    /// <summary>FP8 e4m3fn codes (bias 7, no infinities), one byte per input, K bytes per row.</summary>
    Fp8E4M3,
}

/// <summary>How many weights share one scale (derived from <see cref="QuantizedWeight"/>'s layout).</summary>
public enum ScaleGranularity
{
    /// <summary>One scale for the whole matrix.</summary>
    PerTensor,
    /// <summary>One scale per output row.</summary>
    PerChannel,
    /// <summary>One scale per output row and group of <see cref="QuantizedWeight.GroupSize"/> inputs (GPTQ, AWQ).</summary>
    PerGroup,
    /// <summary>One scale per 2-D block of <see cref="QuantizedWeight.ScaleBlockRows"/> x <see cref="QuantizedWeight.GroupSize"/> weights (DeepSeek-style FP8).</summary>
    Block,
}

/// <summary>
/// A linear layer's weight W [N, K] in the canonical quantized layout every backend reads. Quantization plugins
/// convert checkpoint formats (GPTQ, AWQ, FP8, ...) into this layout once at load; backends own the compute.
/// <para>
/// Dequantization of the weight at output row n, input k:
/// <c>W[n,k] = (value(q[n,k]) - zero[n,g]) * scale[n / ScaleBlockRows, g]</c>, where <c>value</c> is the integer
/// code for <see cref="QuantizedFormat.Int4"/>/<see cref="QuantizedFormat.Int8"/> and the decoded float for
/// <see cref="QuantizedFormat.Fp8E4M3"/>, and the group <c>g</c> is <c>GroupIndex[k]</c> when a group index is
/// present, else <c>k / GroupSize</c>. FP8 weights have no zero points.
/// </para>
/// </summary>
/// <param name="Format">Code encoding, which also fixes <see cref="Data"/>'s row layout.</param>
/// <param name="OutFeatures">N, output features (rows of W).</param>
/// <param name="InFeatures">K, input features (columns of W).</param>
/// <param name="Data">U8 [N, <see cref="RowBytes"/>]: the packed codes, one row per output feature.</param>
/// <param name="Scales">F32 [ceil(N / ScaleBlockRows), Groups]: dequantization scales.</param>
/// <param name="Zeros">
/// F32 [N, Groups] zero points in code units, or null: integer formats then use the midpoint
/// (8 for Int4, 128 for Int8, the symmetric convention); FP8 always passes null.
/// </param>
/// <param name="GroupSize">
/// Inputs per scale group along K (K itself for per-channel or per-tensor scales). Without a group index,
/// <c>Groups = ceil(K / GroupSize)</c>.
/// </param>
/// <param name="ScaleBlockRows">Output rows sharing one row of <see cref="Scales"/>: 1 for per-channel and per-group, N for per-tensor, the block height for block-wise.</param>
/// <param name="GroupIndex">
/// I32 [K] group of each input, in [0, Groups), or null. Present for GPTQ act-order (<c>desc_act</c>), where
/// inputs of one group are scattered along K; when present it replaces <c>k / GroupSize</c>, and groups need not
/// be of equal size (fusing layers whose act-order permutations differ yields one group per distinct combination).
/// </param>
public sealed record QuantizedWeight(
    QuantizedFormat Format,
    int OutFeatures,
    int InFeatures,
    Tensor Data,
    Tensor Scales,
    Tensor? Zeros,
    int GroupSize,
    int ScaleBlockRows = 1,
    Tensor? GroupIndex = null) : IDisposable
{
    /// <summary>Number of scale groups along K: the column count of <see cref="Scales"/>.</summary>
    public int Groups => Scales.Shape.Length == 0 ? 1 : Scales.Shape[^1];

    /// <summary>Bytes per row of <see cref="Data"/> for <paramref name="format"/> and K inputs.</summary>
    public static int RowBytesOf(QuantizedFormat format, int inFeatures) => format switch
    {
        QuantizedFormat.Int4 => (inFeatures + 31) / 32 * 16,
        QuantizedFormat.Int8 or QuantizedFormat.Fp8E4M3 => inFeatures,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown quantized format"),
    };

    /// <summary>Bytes per row of <see cref="Data"/>.</summary>
    public int RowBytes => RowBytesOf(Format, InFeatures);

    /// <summary>Code bits per weight (4 or 8).</summary>
    public int Bits => Format == QuantizedFormat.Int4 ? 4 : 8;

    /// <summary>How many weights share a scale.</summary>
    public ScaleGranularity Granularity =>
        ScaleBlockRows >= OutFeatures && GroupSize >= InFeatures ? ScaleGranularity.PerTensor
        : ScaleBlockRows > 1 ? ScaleGranularity.Block
        : GroupSize >= InFeatures ? ScaleGranularity.PerChannel
        : ScaleGranularity.PerGroup;

    /// <summary>Frees the device tensors.</summary>
    public void Dispose()
    {
        Data.Dispose();
        Scales.Dispose();
        Zeros?.Dispose();
        GroupIndex?.Dispose();
    }
}

/// <summary>
/// Optional companion of <see cref="IKernels"/>: a backend whose kernels object also implements this interface
/// runs quantized linear layers directly on the packed codes (asked for with <c>kernels is IQuantizedKernels</c>).
/// Implementations dequantize on the fly; they never keep a dequantized copy of the whole weight.
/// </summary>
public interface IQuantizedKernels
{
    /// <summary>True when <see cref="LinearQuantized"/> accepts weights of <paramref name="format"/>.</summary>
    bool Supports(QuantizedFormat format);

    /// <summary>
    /// out = x W^T (+ bias), W dequantized as <see cref="QuantizedWeight"/> describes. x [T, K] in the activation
    /// dtype, bias [N] or null, out [T, N].
    /// </summary>
    void LinearQuantized(Tensor x, QuantizedWeight weight, Tensor? bias, Tensor output);
}
