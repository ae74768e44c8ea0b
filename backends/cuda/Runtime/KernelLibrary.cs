using System.Text;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// The backend's CUDA C kernels: the embedded .cu sources joined into one translation unit (common.cuh first),
/// compiled by NVRTC for the device's sm_XX (cached on disk), loaded as one module, and every kernel looked up once.
/// </summary>
internal sealed class KernelLibrary : IDisposable
{
    private static readonly string[] SourceOrder = ["common.cuh", "elementwise.cu", "norm.cu", "rope.cu", "moe.cu", "attention.cu", "sampling.cu", "qkv.cu", "flash_attention.cu", "decode_attention.cu", "gemv.cu", "quant_gemv.cu", "quant_gemv_stream.cu", "quant_gemm.cu"];

    /// <summary>(head dim, query heads per KV head) pairs compiled as GQA-shared attention kernels.</summary>
    internal static readonly (int HeadDim, int Group)[] GqaVariants =
        [(64, 2), (64, 4), (64, 8), (128, 2), (128, 4), (128, 8), (256, 2), (256, 4)];

    private readonly CudaModule _module;
    private readonly Dictionary<(int, int), nint> _gqa = new();
    private readonly nint[] _gemvBf16 = new nint[MaxGemvRows];
    private readonly nint[] _gemvF32 = new nint[MaxGemvRows];
    private readonly nint[] _gemvGateUp = new nint[MaxGemvRows];

    private readonly Dictionary<(int Format, int Rows, int RowsPerWarp), nint> _quantGemv = new();
    private readonly Dictionary<string, nint> _quantGemvInt4Mma = new();

    /// <summary>Most rows of x the skinny decode GEMV kernels take; more go to cuBLAS.</summary>
    internal const int MaxGemvRows = 4;

    /// <summary>Most rows of x the quantized decode GEMV kernels take; more go to the tiled / FP8 GEMM paths.</summary>
    internal const int MaxQuantGemvRows = 8;

    /// <summary>Warps per block of the quantized GEMV (see quant_gemv.cu).</summary>
    internal const int QuantGemvWarps = 4;

    /// <summary>Weight rows per warp compiled for <paramref name="rows"/> rows of x: 4 up to 2 rows, 2 up to 4, else 1.</summary>
    internal static int MaxQuantGemvRowsPerWarp(int rows) => rows <= 2 ? 4 : rows <= 4 ? 2 : 1;

    /// <summary>
    /// The quantized GEMV for code format <paramref name="format"/> (0 Int4, 1 Int8, 2 FP8), 1..8 rows of x and
    /// <paramref name="rowsPerWarp"/> weight rows per warp (1, 2 or 4, at most <see cref="MaxQuantGemvRowsPerWarp"/>).
    /// </summary>
    internal nint QuantGemv(int format, int rows, int rowsPerWarp) => _quantGemv[(format, rows, rowsPerWarp)];

    /// <summary>
    /// Variants of the tensor-core Int4 GEMV (qgemv_int4_mma_*, any 1..<see cref="MaxQuantGemvRows"/> rows of x) by
    /// name suffix: tiles of 16 weight rows per block, warps per block (they split K) and K steps loaded ahead.
    /// "r1" is the default; the others are for A/B runs (MODULAR_QGEMV).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, (int Tiles, int Warps, int Stages)> QuantGemvInt4MmaVariants =
        new Dictionary<string, (int, int, int)>
        {
            ["r1"] = (1, 8, 3), ["r2"] = (2, 8, 3), ["w8s4"] = (1, 8, 4), ["w4s4"] = (1, 4, 4), ["w16s2"] = (1, 16, 2),
        };

    /// <summary>The tensor-core Int4 GEMV variant named by a key of <see cref="QuantGemvInt4MmaVariants"/>.</summary>
    internal nint QuantGemvInt4Mma(string variant) => _quantGemvInt4Mma[variant];

    /// <summary>The GEMV kernel for <paramref name="rows"/> rows (1..<see cref="MaxGemvRows"/>) and output dtype.</summary>
    internal nint Gemv(int rows, bool f32Out) => f32Out ? _gemvF32[rows - 1] : _gemvBf16[rows - 1];

    /// <summary>The gate|up GEMV with the activation fused, for <paramref name="rows"/> rows (1..<see cref="MaxGemvRows"/>).</summary>
    internal nint GemvGateUp(int rows) => _gemvGateUp[rows - 1];

    /// <summary>
    /// 16-byte weight loads each GEMV lane keeps in flight (gemv.cu's U): 4, measured best, or 8 for A/B through
    /// MODULAR_CUDA_GEMV_UNROLL.
    /// </summary>
    internal static readonly int GemvUnroll =
        int.TryParse(Environment.GetEnvironmentVariable("MODULAR_CUDA_GEMV_UNROLL"), out var u) && u is 4 or 8 ? u : 4;

    internal KernelLibrary(CudaContext context, string arch)
    {
        var source = LoadSource();
        var cubin = KernelCompiler.Compile(source, "modular_kernels", arch, out var fromCache);
        FromCache = fromCache;
        _module = new CudaModule(context, cubin);
        ConvertBf16F32 = _module.GetFunction("convert_bf16_f32");
        ConvertF16F32 = _module.GetFunction("convert_f16_f32");
        AddBf16 = _module.GetFunction("add_bf16");
        ProfileHold = _module.GetFunction("profile_hold");
        BiasAddBf16 = _module.GetFunction("bias_add_bf16");
        BiasAddF32 = _module.GetFunction("bias_add_f32");
        EmbeddingBf16 = _module.GetFunction("embedding_bf16");
        GatherRowsB32 = _module.GetFunction("gather_rows_b32");
        GatherRowsB8 = _module.GetFunction("gather_rows_b8");
        ActAndMulBf16 = _module.GetFunction("act_and_mul_bf16");
        RmsNormBf16 = _module.GetFunction("rmsnorm_bf16");
        AddRmsNormBf16 = _module.GetFunction("add_rmsnorm_bf16");
        RopeF32Table = _module.GetFunction("rope_bf16_f32table");
        RopeBf16Table = _module.GetFunction("rope_bf16_bf16table");
        MoeRoute = _module.GetFunction("moe_route_bf16");
        MoeGateUp = _module.GetFunction("moe_gate_up_bf16");
        MoeDown = _module.GetFunction("moe_down_bf16");
        ReshapeAndCache = _module.GetFunction("reshape_and_cache_bf16");
        ReshapeAndCacheFp8 = _module.GetFunction("reshape_and_cache_fp8");
        PagedAttention = _module.GetFunction("paged_attention_bf16");
        PagedAttentionCombine = _module.GetFunction("paged_attention_combine_bf16");
        PagedAttentionGrouped64 = _module.GetFunction("paged_attention_grouped_64");
        PagedAttentionGrouped128 = _module.GetFunction("paged_attention_grouped_128");
        PagedAttentionGrouped256 = _module.GetFunction("paged_attention_grouped_256");
        ArgMaxRowsF32 = _module.GetFunction("argmax_rows_f32");
        SplitQkvRopeF32Table = _module.GetFunction("split_qkv_rope_f32table");
        SplitQkvRopeBf16Table = _module.GetFunction("split_qkv_rope_bf16table");
        foreach (bool bf16Table in new[] { false, true })
            foreach (bool fp8Cache in new[] { false, true })
                _splitQkvRopeStore[(bf16Table, fp8Cache)] =
                    _module.GetFunction($"split_qkv_rope_store_{(bf16Table ? "bf16table" : "f32table")}_{(fp8Cache ? "fp8" : "bf16")}");
        FlashPrefill128 = _module.GetFunction("flash_prefill_128");
        FlashPrefill128Fp8 = _module.GetFunction("flash_prefill_fp8_128");
        foreach (int hd in DecodeTcHeadDims)
            foreach (bool fp8 in new[] { false, true })
            {
                string name = fp8 ? $"paged_decode_tc_fp8_{hd}" : $"paged_decode_tc_{hd}";
                var f = _module.GetFunction(name);
                // The bf16 K/V ring is above the 48 KiB a launch gets without opting in.
                CudaCheck.Driver(CudaDriver.cuFuncSetAttribute(f, CuFuncAttributeMaxDynamicSharedBytes, DecodeTcSharedBytes(hd, fp8)),
                    $"cuFuncSetAttribute({name}, max dynamic shared memory)");
                _decodeTc[(hd, fp8)] = f;
            }
        for (int m = 1; m <= MaxGemvRows; m++)
        {
            _gemvBf16[m - 1] = _module.GetFunction($"gemv_bf16_m{m}_u{GemvUnroll}");
            _gemvF32[m - 1] = _module.GetFunction($"gemv_f32out_m{m}_u{GemvUnroll}");
            _gemvGateUp[m - 1] = _module.GetFunction($"gemv_gate_up_m{m}_u{GemvUnroll}");
        }
        foreach (var (hd, g) in GqaVariants)
            _gqa[(hd, g)] = _module.GetFunction($"paged_attention_gqa_{hd}_{g}");
        for (int f = 0; f < 3; f++)
            for (int m = 1; m <= MaxQuantGemvRows; m++)
                for (int r = 1; r <= MaxQuantGemvRowsPerWarp(m); r *= 2)
                    _quantGemv[(f, m, r)] = _module.GetFunction($"qgemv_f{f}_m{m}_r{r}");
        foreach (var v in QuantGemvInt4MmaVariants.Keys) _quantGemvInt4Mma[v] = _module.GetFunction($"qgemv_int4_mma_{v}");
        QuantDequantTile = _module.GetFunction("quant_dequant_tile_bf16");
        QuantDequantTileInt4 = _module.GetFunction("quant_dequant_tile_int4_bf16");
        QuantGemvInt4MmaTiled = _module.GetFunction("qgemv_int4_mma_tiled_r1");
        Int4TileRepack = _module.GetFunction("int4_tile_repack");
        Int4TileScalesF16 = _module.GetFunction("int4_tile_scales_f16");
        foreach (var (tpb, wpt, stages) in QuantGemvStreamShapes)
            LoadStream($"qgemv_int4_streamh_t{tpb}_w{wpt}_s{stages}", (tpb, wpt, stages), _quantGemvStream);
        foreach (var (tpb, wpt, stages) in QuantGemvStreamGatedShapes)
            LoadStream($"qgemv_int4_streamh_gated_t{tpb}_w{wpt}_s{stages}", (tpb, wpt, stages), _quantGemvStreamGated);
        Fp8ActQuantizeRows = _module.GetFunction("fp8_act_quantize_rows");
        Fp8ActAndMulQuantizeRows = _module.GetFunction("fp8_act_and_mul_quantize_rows");
        Fp8AddRmsNormQuantizeRows = _module.GetFunction("fp8_add_rmsnorm_quantize_rows");
        Fp8GemmEpilogue = _module.GetFunction("fp8_gemm_epilogue");
    }

    /// <summary>True when the cubin came from the on-disk cache.</summary>
    internal bool FromCache { get; }

    internal nint ConvertBf16F32 { get; }
    internal nint ConvertF16F32 { get; }
    internal nint AddBf16 { get; }
    /// <summary>Keeps the stream busy for a while (MODULAR_CUDA_PROFILE's <see cref="LaunchProfiler"/>).</summary>
    internal nint ProfileHold { get; }
    internal nint BiasAddBf16 { get; }
    internal nint BiasAddF32 { get; }
    internal nint EmbeddingBf16 { get; }
    internal nint GatherRowsB32 { get; }
    internal nint GatherRowsB8 { get; }
    internal nint ActAndMulBf16 { get; }
    internal nint RmsNormBf16 { get; }
    internal nint AddRmsNormBf16 { get; }
    internal nint RopeF32Table { get; }
    internal nint RopeBf16Table { get; }
    internal nint MoeRoute { get; }
    internal nint MoeGateUp { get; }
    internal nint MoeDown { get; }
    internal nint ReshapeAndCache { get; }
    internal nint ReshapeAndCacheFp8 { get; }
    internal nint PagedAttention { get; }
    internal nint PagedAttentionCombine { get; }
    internal nint PagedAttentionGrouped64 { get; }
    internal nint PagedAttentionGrouped128 { get; }
    internal nint PagedAttentionGrouped256 { get; }
    internal nint ArgMaxRowsF32 { get; }
    internal nint SplitQkvRopeF32Table { get; }
    internal nint SplitQkvRopeBf16Table { get; }

    /// <summary>split_qkv_rope_store_*: the split writing k/v into cache rows, per (bf16 cos|sin table, FP8 cache).</summary>
    internal nint SplitQkvRopeStore(bool bf16Table, bool fp8Cache) => _splitQkvRopeStore[(bf16Table, fp8Cache)];

    private readonly Dictionary<(bool, bool), nint> _splitQkvRopeStore = new();
    internal nint FlashPrefill128 { get; }
    internal nint FlashPrefill128Fp8 { get; }
    internal nint QuantDequantTile { get; }

    /// <summary>quant_dequant_tile_int4_bf16: Int4 dequantization a 16-byte chunk per thread (no act-order, groups of 32n).</summary>
    internal nint QuantDequantTileInt4 { get; }

    /// <summary>qgemv_int4_mma on the tiled Int4 layout (2..<see cref="MaxQuantGemvRows"/> rows of x).</summary>
    internal nint QuantGemvInt4MmaTiled { get; }

    /// <summary>int4_tile_repack: row-major Int4 codes to the tiled layout (quant_gemv.cu).</summary>
    internal nint Int4TileRepack { get; }

    /// <summary>int4_tile_scales_f16: the tiled f16 scale|zero array of a tiled Int4 weight, with an inexactness flag.</summary>
    internal nint Int4TileScalesF16 { get; }

    /// <summary>
    /// (tiles per block, warps per tile, ring stages) of the compiled qgemv_int4_streamh kernels;
    /// <see cref="CudaQuantizedKernels"/> picks one per product size (see quant_gemv_stream.cu). At most 64 warp
    /// stages per block (<see cref="QuantGemvStreamMaxK"/> assumes it).
    /// </summary>
    internal static readonly (int TilesPerBlock, int WarpsPerTile, int Stages)[] QuantGemvStreamShapes =
        [(2, 4, 5), (1, 4, 8), (2, 8, 4)];

    /// <summary>The shapes of the compiled gated twins (qgemv_int4_streamh_gated_*; an even tile count each).</summary>
    internal static readonly (int TilesPerBlock, int WarpsPerTile, int Stages)[] QuantGemvStreamGatedShapes = [(2, 4, 5)];

    private void LoadStream(string name, (int, int, int) shape, Dictionary<(int, int, int), nint> into)
    {
        var f = _module.GetFunction(name);
        // x and the ring exceed the 48 KiB a launch gets without opting in for long K (down: 75 KiB at K = 14336).
        CudaCheck.Driver(CudaDriver.cuFuncSetAttribute(f, CuFuncAttributeMaxDynamicSharedBytes, QuantGemvStreamMaxSharedBytes),
            $"cuFuncSetAttribute({name}, max dynamic shared memory)");
        into[shape] = f;
    }

    /// <summary>Shared memory the stream GEMV may use: K up to <see cref="QuantGemvStreamMaxK"/> inputs.</summary>
    internal const int QuantGemvStreamMaxSharedBytes = 160 * 1024;

    /// <summary>
    /// Dynamic shared memory of a qgemv_int4_stream launch (x as bf16, its per-step sums, one ring per warp of
    /// <see cref="QuantGemvStreamStageBytes"/>-byte stages), as qs_shared_bytes computes it.
    /// </summary>
    internal static int QuantGemvStreamSharedBytes(int k, int warps, int stages)
    {
        int steps = k / 128;
        return steps * 256 + ((steps * 4 + 15) & ~15) + warps * stages * QuantGemvStreamStageBytes;
    }

    /// <summary>QS_STAGE_BYTES: 1 KiB of codes and 64 bytes of f16 scales and zeros per warp step.</summary>
    internal const int QuantGemvStreamStageBytes = 1088;

    /// <summary>Longest K the stream GEMV takes (its x copy and rings within <see cref="QuantGemvStreamMaxSharedBytes"/>).</summary>
    internal static readonly int QuantGemvStreamMaxK = 128 * ((QuantGemvStreamMaxSharedBytes - 8 * 8 * QuantGemvStreamStageBytes - 16) / 260);

    /// <summary>The stream GEMV of one compiled shape.</summary>
    internal nint QuantGemvStream((int, int, int) shape) => _quantGemvStream[shape];

    private readonly Dictionary<(int, int, int), nint> _quantGemvStream = new();

    /// <summary>The gated stream GEMV (gate|up with the activation) of one of <see cref="QuantGemvStreamGatedShapes"/>.</summary>
    internal nint QuantGemvStreamGated((int, int, int) shape) => _quantGemvStreamGated[shape];

    private readonly Dictionary<(int, int, int), nint> _quantGemvStreamGated = new();

    internal nint Fp8ActQuantizeRows { get; }

    /// <summary>fp8_act_and_mul_quantize_rows: act(gate) * up of a stacked gate|up quantized per row (K bf16 of shared memory).</summary>
    internal nint Fp8ActAndMulQuantizeRows { get; }

    /// <summary>fp8_add_rmsnorm_quantize_rows: residual (+= x), its RMSNorm quantized per row (K bf16 of shared memory).</summary>
    internal nint Fp8AddRmsNormQuantizeRows { get; }
    internal nint Fp8GemmEpilogue { get; }

    /// <summary>Head dims compiled as tensor-core decode kernels (decode_attention.cu).</summary>
    internal static readonly int[] DecodeTcHeadDims = [64, 128];

    /// <summary>Keys per tile of the tensor-core decode kernel (DEC_KEYS in decode_attention.cu).</summary>
    internal const int DecodeTcKeysPerTile = 64;

    /// <summary>Stages of the tensor-core decode kernel's K/V ring (DEC_STAGES in decode_attention.cu).</summary>
    internal const int DecodeTcStages = 2;

    /// <summary>Stages of the FP8 decode kernel's ring of raw codes (DEC_FP8_STAGES in decode_attention.cu).</summary>
    internal const int DecodeTcFp8Stages = 3;

    /// <summary>
    /// Dynamic shared memory of the tensor-core decode kernel: a K and a V tile in bf16 per stage, or for an FP8 cache
    /// one bf16 tile (K, then V) plus a ring of K and V tiles of codes; at least the four warps' float32 partials
    /// merged at the end.
    /// </summary>
    internal static int DecodeTcSharedBytes(int headDim, bool fp8 = false)
    {
        int tile = DecodeTcKeysPerTile * headDim;
        int ring = fp8 ? tile * 2 + DecodeTcFp8Stages * 2 * tile : DecodeTcStages * 2 * tile * 2;
        int merge = (4 * 16 * headDim + 2 * 4 * 16) * 4;
        return Math.Max(ring, merge);
    }

    private const int CuFuncAttributeMaxDynamicSharedBytes = 8;
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeTc = new();

    /// <summary>The tensor-core decode kernel for this head dim and cache dtype (bf16 or FP8), or 0 when none was compiled.</summary>
    internal nint PagedDecodeTc(int headDim, bool fp8 = false) => _decodeTc.TryGetValue((headDim, fp8), out var f) ? f : 0;

    /// <summary>The GQA-shared attention kernel for this head dim and group size, or 0 when none was compiled.</summary>
    internal nint PagedAttentionGqa(int headDim, int group) => _gqa.TryGetValue((headDim, group), out var f) ? f : 0;

    /// <summary>The joined kernel source, as compiled.</summary>
    internal static string LoadSource()
    {
        var asm = typeof(KernelLibrary).Assembly;
        var sb = new StringBuilder();
        foreach (var file in SourceOrder)
        {
            var name = "Modular.Backends.Cuda.Kernels." + file;
            using var stream = asm.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"embedded kernel source '{name}' is missing from {asm.GetName().Name}");
            using var reader = new StreamReader(stream);
            sb.Append("// ---- ").Append(file).Append(" ----\n").Append(reader.ReadToEnd()).Append('\n');
        }
        return sb.ToString();
    }

    public void Dispose() => _module.Dispose();
}
