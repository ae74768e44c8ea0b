using System.Runtime.CompilerServices;
using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// The cuda backend's own layout for Int4 weights that the tensor-core GEMVs read (int4_tiled_chunk in
/// quant_gemv.cu): the codes of each 16-row tile reordered so that one warp step reads one contiguous kilobyte, plus a
/// scale|zero array of f16 pairs with one 64-byte line per tile and group (int4_tile_scales_f16). The codes are
/// permuted in place (the weight's <see cref="QuantizedWeight.Data"/> keeps its size; no second copy), the
/// scale|zero array is new (4 bytes per row and group, half the canonical float scales and zeros). Made once per
/// weight at its first use outside graph capture; every cuda kernel that reads Int4 codes takes the layout as a flag.
/// <para>
/// The f16 pair is exact for what GPTQ and AWQ write (fp16 scales, integer zero points); a weight whose scales or
/// zeros would round (scales made in float32 by a caller) stays row-major, so the layout never changes a result.
/// </para>
/// <para>
/// A weight first seen while a graph is being captured stays row-major for good: permuting it later would corrupt
/// the kernels that graph already holds. MODULAR_CUDA_INT4_TILED=0 keeps every weight row-major (A/B runs).
/// </para>
/// </summary>
internal sealed class Int4TiledWeights(CudaBackend backend)
{
    /// <summary>What is known of one weight's codes, keyed by its <see cref="QuantizedWeight.Data"/> tensor.</summary>
    internal sealed class Entry(CudaTensor? scaleZero)
    {
        /// <summary>The tiled scale|zero array, or null when the codes stay row-major.</summary>
        internal CudaTensor? ScaleZero { get; } = scaleZero;

        internal bool Tiled => ScaleZero is not null;
    }

    private static readonly Entry RowMajor = new(null);

    // Keyed by the Data tensor (reference identity): a record copy of the QuantizedWeight shares the permuted bytes.
    private readonly ConditionalWeakTable<Tensor, Entry> _entries = new();

    /// <summary>Whether the layout is used at all (MODULAR_CUDA_INT4_TILED, default on).</summary>
    internal bool Enabled { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_INT4_TILED") != "0";

    /// <summary>Weights permuted so far (a count for tests and logs).</summary>
    internal int Count { get; private set; }

    /// <summary>
    /// True when the tensor-core GEMVs can take <paramref name="weight"/>: Int4 without act-order, a 128-input step
    /// inside one scale group, whole 16-row tiles and whole steps.
    /// </summary>
    internal static bool Eligible(QuantizedWeight weight) =>
        weight.Format == QuantizedFormat.Int4 && weight.GroupIndex is null
        && (weight.GroupSize % 128 == 0 || weight.GroupSize >= weight.InFeatures)
        && weight.OutFeatures % 16 == 0 && weight.InFeatures % 128 == 0;

    /// <summary>
    /// The layout of <paramref name="weight"/>'s codes, permuting them now when this is their first use, the layout
    /// is enabled, the weight is <see cref="Eligible"/> and no graph is being captured.
    /// </summary>
    internal Entry Of(QuantizedWeight weight, ulong data, ulong scales, ulong zeros)
    {
        if (_entries.TryGetValue(weight.Data, out var known)) return known;
        if (!Enabled || !Eligible(weight) || backend.Capturing)
        {
            _entries.AddOrUpdate(weight.Data, RowMajor);
            return RowMajor;
        }
        int n = weight.OutFeatures, groups = weight.Groups;
        long bytes = (long)n * weight.RowBytes;
        var lib = backend.Library;
        var sz = backend.AllocateUninitialized(DType.I32, [n / 16, groups, 16]);
        var inexact = backend.AllocateUninitialized(DType.I32, [1]);
        CudaCheck.Driver(CudaDriver.cuMemsetD32Async(inexact.Pointer, 0, 1, backend.Stream.Raw), "cuMemsetD32Async(inexact flag)");
        backend.Launch(lib.Int4TileScalesF16, (uint)Math.Min(((long)n * groups + 255) / 256, backend.MultiprocessorCount * 16L), 1, 1, 256, 0,
            backend.Args().Ptr(scales).Ptr(zeros).Ptr(sz.Pointer).Int(n).Int(groups).Int(weight.ScaleBlockRows).Ptr(inexact.Pointer),
            "int4_tile_scales_f16");
        Span<int> flag = stackalloc int[1];
        backend.DownloadI32(inexact, flag);
        inexact.Dispose();
        if (flag[0] != 0)
        {
            sz.Dispose();
            _entries.AddOrUpdate(weight.Data, RowMajor);
            return RowMajor;
        }
        // Permute through a temporary copy: a tile's bytes stay within its range, but not chunk by chunk.
        using (var tmp = new DeviceBuffer(backend.Context, backend.Stream, bytes))
        {
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoDAsync(tmp.Pointer, data, (nuint)bytes, backend.Stream.Raw), "cuMemcpyDtoDAsync(Int4 codes)");
            backend.Launch(lib.Int4TileRepack, (uint)Math.Min((bytes / 16 + 255) / 256, backend.MultiprocessorCount * 16L), 1, 1, 256, 0,
                backend.Args().Ptr(tmp.Pointer).Ptr(data).Int(n).Int(weight.RowBytes), "int4_tile_repack");
        }
        var entry = new Entry(sz);
        _entries.AddOrUpdate(weight.Data, entry);
        Count++;
        return entry;
    }
}
