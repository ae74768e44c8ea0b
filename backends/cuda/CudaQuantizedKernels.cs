using Modular.Abstractions;
using Modular.Backends.Cuda.Native;
using Modular.Backends.Cuda.Runtime;

namespace Modular.Backends.Cuda;

/// <summary>
/// Quantized linear layers on the GPU, reading the canonical <see cref="QuantizedWeight"/> layout as uploaded, except
/// for Int4 weights the tensor-core GEMVs take, whose codes are permuted once into <see cref="Int4TiledWeights"/>:
/// <list type="bullet">
/// <item>T &lt;= 8 rows (decode): a weight-streaming GEMV per code format that dequantizes in registers; Int4 on the
/// tensor cores (one row of x: qgemv_int4_stream, 2..8: qgemv_int4_mma).</item>
/// <item>FP8 with one scale per tensor, per output channel or per block of output rows: activations quantized to e4m3
/// with a dynamic per-token scale and multiplied on the FP8 tensor cores through cuBLASLt, which applies the token and
/// weight scales as outer vectors and the bias in its own epilogue and writes the output (Hopper, CUDA 12.8+). Where
/// cuBLASLt refuses that, it writes raw sums and an epilogue kernel applies scales and bias.</item>
/// <item>Everything else (Int4/Int8 prefill, FP8 scale groups along K, act-order): the weight dequantized tile by
/// tile into scratch bf16 and multiplied by cuBLAS; a tile is at most <see cref="TileElements"/> weights.</item>
/// </list>
/// Every path enqueues work on the backend's stream without host synchronization or allocation (scratch grows only
/// when a larger size is first seen), so decode steps stay capturable in CUDA graphs.
/// </summary>
internal sealed unsafe class CudaQuantizedKernels(CudaBackend backend) : IDisposable
{
    /// <summary>Largest dequantized tile, in weights (32 MiB of bf16).</summary>
    internal const long TileElements = 16L << 20;

    private const long LtWorkspaceBytes = 32L << 20;

    /// <summary>Largest FP8 GEMM accumulator, in elements (128 MiB of float32): longer batches run in row chunks.</summary>
    private const long AccElements = 32L << 20;

    private readonly Int4TiledWeights _tiled = new(backend);
    private readonly Dictionary<(int N, int T, int K), Fp8Plan?> _plans = new();
    private readonly Dictionary<ScaledKey, ScaledFp8Plan?> _scaledPlans = new();
    private CublasLtHandle? _lt;
    private CublasLtPreference? _preference;
    private CublasLtPreference? _preferenceAlign16;
    private DeviceBuffer? _ltWorkspace;
    private string? _ltMissing;
    private string? _scaledMissing;

    /// <summary>
    /// (tiles per block, warps per tile, ring stages) of the stream GEMV for wide products (N >= 16,384 with K below
    /// 8,192: an unfused gate|up), deep ones (K >= 8,192: down), the rest (q|k|v, o), and the gated gate|up. From
    /// MODULAR_QGEMV_STREAM ("TxWxS,TxWxS,TxWxS,TxWxS", each one of <see cref="KernelLibrary.QuantGemvStreamShapes"/>,
    /// the last one of <see cref="KernelLibrary.QuantGemvStreamGatedShapes"/>) for A/B runs. The defaults are what the
    /// harness preferred per product on the H200 (bench/results/2026-12-06-r2.md): down 11.8 us with 2 x 8 x 4
    /// against 14.4 with 2 x 4 x 5; q|k|v 7.5 with 1 x 4 x 8 against 8.3. End to end the deep shape was a wash on the
    /// H100 (W1 GPTQ 334.7 against 333.4 tok/s).
    /// </summary>
    internal static readonly StreamShapeSet StreamShapes = ParseStreamShapes(Environment.GetEnvironmentVariable("MODULAR_QGEMV_STREAM"));

    /// <summary>The stream GEMV shape per product class (see <see cref="StreamShapes"/>).</summary>
    internal readonly record struct StreamShapeSet((int Tpb, int Wpt, int Stages) Wide, (int Tpb, int Wpt, int Stages) Deep,
        (int Tpb, int Wpt, int Stages) Small, (int Tpb, int Wpt, int Stages) Gated)
    {
        /// <summary>The shape for an N x K product of one row.</summary>
        public (int Tpb, int Wpt, int Stages) For(int n, int k) => k >= 8192 ? Deep : n >= 16384 ? Wide : Small;
    }

    internal static StreamShapeSet ParseStreamShapes(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) return new((2, 4, 5), (2, 8, 4), (1, 4, 8), (2, 4, 5));
        var parts = spec.Split(',');
        var shapes = new (int, int, int)[4];
        for (int i = 0; i < 4; i++)
        {
            var f = i < parts.Length ? parts[i].Split('x') : [];
            var compiled = i == 3 ? KernelLibrary.QuantGemvStreamGatedShapes : KernelLibrary.QuantGemvStreamShapes;
            if (parts.Length != 4 || f.Length != 3 || !int.TryParse(f[0], out int tpb) || !int.TryParse(f[1], out int wpt) || !int.TryParse(f[2], out int ns)
                || !compiled.Contains((tpb, wpt, ns)))
                throw new ArgumentException($"MODULAR_QGEMV_STREAM='{spec}': expected four compiled shapes TxWxS (wide, deep, small among "
                    + $"{Names(KernelLibrary.QuantGemvStreamShapes)}; gated among {Names(KernelLibrary.QuantGemvStreamGatedShapes)})");
            shapes[i] = (tpb, wpt, ns);
        }
        return new(shapes[0], shapes[1], shapes[2], shapes[3]);

        static string Names((int T, int W, int S)[] set) => string.Join(", ", set.Select(q => $"{q.T}x{q.W}x{q.S}"));
    }

    /// <summary>
    /// Whether one-row Int4 gate|up products take the gated stream GEMV (default on; MODULAR_CUDA_INT4_GATED=0 turns it
    /// off for A/B runs). W1 GPTQ decode on 2026-12-06: H100 356.4 tok/s with it, 348.6 without; H200 396.3 and 385.3.
    /// </summary>
    internal bool GatedGateUp { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_INT4_GATED") != "0";

    /// <summary>Calls that took the one-row stream GEMV (tests and reports).</summary>
    internal long StreamCalls { get; private set; }

    /// <summary>
    /// False when an A/B setting keeps Int4 weights row-major (MODULAR_CUDA_INT4_TILED=0, or MODULAR_QGEMV=legacy, whose
    /// CUDA-core GEMV reads row-major codes).
    /// </summary>
    internal bool StreamEnabled => _tiled.Enabled && QuantGemvMode != "legacy";

    /// <summary>
    /// Whether FP8 batches past the GEMV quantize their activations for the FP8 tensor cores (default on;
    /// MODULAR_CUDA_FP8_GEMM=0 turns it off). Off, they take the dequantize-and-cuBLAS path with bf16 activations:
    /// slower, but exact to the weights (tests compare both).
    /// </summary>
    internal bool Fp8ActivationQuantization { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_FP8_GEMM") != "0";

    /// <summary>
    /// GEMM shapes cuBLASLt gave an FP8 algorithm for (scaled or accumulator), and shapes it refused an accumulator
    /// algorithm (which take the tiled path).
    /// </summary>
    internal int Fp8ShapesPlanned { get; private set; }

    /// <inheritdoc cref="Fp8ShapesPlanned"/>
    internal int Fp8ShapesRefused { get; private set; }

    /// <summary>Why the FP8 tensor-core path is off on this device, or null while it is available.</summary>
    internal string? Fp8GemmUnavailable => _ltMissing;

    /// <summary>
    /// Whether the FP8 GEMM asks cuBLASLt for outer-vector scales and the bias epilogue, so it writes the output
    /// directly (default on; MODULAR_CUDA_FP8_SCALED_GEMM=0 forces the accumulator + fp8_gemm_epilogue path for A/B).
    /// </summary>
    internal bool Fp8ScaledGemm { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_FP8_SCALED_GEMM") != "0";

    /// <summary>
    /// Whether FP8 GEMMs run in fast-accumulation mode (CUBLASLT_MATMUL_DESC_FAST_ACCUM): the tensor cores keep the
    /// sums over K in their own accumulator instead of promoting them to float32 every few k-steps, as vLLM's CUTLASS
    /// FP8 kernels do (their FP8FastAccum schedules). Default on; MODULAR_CUDA_FP8_FAST_ACCUM=0 turns it off for A/B
    /// runs and for callers who want the promoted sums. H100, W2 FP8 in one call: 12,886.7 output tok/s off, 13,784.5
    /// and 13,757.2 on.
    /// </summary>
    internal bool Fp8FastAccum { get; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_FP8_FAST_ACCUM") != "0";

    /// <summary>FP8 linear calls whose GEMM wrote the output with the scales (and bias) applied by cuBLASLt.</summary>
    internal long Fp8ScaledGemms { get; private set; }

    /// <summary>FP8 linear calls that took the accumulator + fp8_gemm_epilogue path (scaled GEMM off or refused).</summary>
    internal long Fp8EpilogueGemms { get; private set; }

    /// <summary>Shape variants cuBLASLt gave no outer-vector-scaled algorithm for (each asked once, then remembered).</summary>
    internal int Fp8ScaledShapesRefused { get; private set; }

    /// <summary>
    /// Why the scaled GEMM last fell back: the library lacks outer-vector scaling, or the latest shape it refused
    /// (with the status); null while it never refused.
    /// </summary>
    internal string? Fp8ScaledGemmRefusal => _scaledMissing ?? _lastScaledRefusal;

    private string? _lastScaledRefusal;
    private int _scaledPlanned;

    /// <summary>Refused scaled variants, with none planned, after which the scaled GEMM is no longer tried.</summary>
    private const int ScaledRefusalsBeforeGivingUp = 8;

    public static bool Supports(QuantizedFormat format) =>
        format is QuantizedFormat.Int4 or QuantizedFormat.Int8 or QuantizedFormat.Fp8E4M3;

    /// <summary>
    /// One row of x through a stacked Int4 gate|up weight [2I, K] with the activation as the stream GEMV's epilogue
    /// (qgemv_int4_streamh_gated in quant_gemv_stream.cu); false, having done nothing, for anything the kernel does not
    /// take (more rows, other formats, a weight left row-major, I not a whole number of tiles), and while
    /// <see cref="GatedGateUp"/> is off.
    /// </summary>
    public bool TryLinearActAndMul(Tensor x, QuantizedWeight gateUp, Activation activation, Tensor output)
    {
        if (!GatedGateUp || !StreamEnabled || gateUp.Format != QuantizedFormat.Int4) return false;
        var xv = backend.Own(x, nameof(x));
        var o = backend.Own(output, nameof(output));
        if (xv.DType != DType.BF16 || o.DType != DType.BF16 || o.Length != gateUp.OutFeatures / 2 || gateUp.OutFeatures % 32 != 0) return false;
        return TryStream(xv, gateUp, Layout.Check(backend, gateUp), null, activation, o);
    }

    /// <summary>
    /// The one-row stream GEMV of x through a tiled Int4 weight, plain or gated (<paramref name="gated"/> set: y [I] =
    /// act(gate) * up), on tensors the caller has owned and checked (dtypes, output and bias lengths). Resolves the
    /// weight's layout unless the caller already has it (<paramref name="tiles"/>). False, having launched nothing,
    /// when the product is not one the kernels take.
    /// </summary>
    private bool TryStream(CudaTensor xv, QuantizedWeight weight, Layout w, CudaTensor? b, Activation? gated, CudaTensor o,
        Int4TiledWeights.Entry? tiles = null)
    {
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (!StreamEnabled || xv.Length != k || k > KernelLibrary.QuantGemvStreamMaxK || ((xv.Pointer | w.Data) & 15) != 0) return false;
        backend.Bind();
        tiles ??= _tiled.Of(weight, w.Data, w.Scales, w.Zeros);
        if (!tiles.Tiled) return false;
        var args = backend.Args().Ptr(xv.Pointer).Ptr(w.Data).Ptr(tiles.ScaleZero!.Pointer);
        if (gated is null) args.Ptr(b?.Pointer ?? 0);
        // The flag after the group size: f32 output for the plain kernel, the activation's code for the gated one.
        args.Ptr(o.Pointer).Int(n).Int(k).Int(weight.RowBytes).Int(weight.Groups).Int(weight.GroupSize)
            .Int(gated is { } act ? (int)act : o.DType == DType.F32 ? 1 : 0);
        if (gated is null)
        {
            var shape = StreamShapes.For(n, k);
            LaunchStream(backend.Library.QuantGemvStream(shape), shape, (n / 16 + shape.Tpb - 1) / shape.Tpb, k, args,
                "qgemv_int4_stream");
        }
        else
        {
            var shape = StreamShapes.Gated;
            int pairs = shape.Tpb / 2;
            LaunchStream(backend.Library.QuantGemvStreamGated(shape), shape, (n / 32 + pairs - 1) / pairs, k, args,
                "qgemv_int4_stream_gated");
        }
        return true;
    }

    /// <summary>Launches a stream GEMV of <paramref name="shape"/> (tiles per block, warps per tile, stages) over K inputs.</summary>
    private void LaunchStream(nint kernel, (int Tpb, int Wpt, int Stages) shape, int blocks, int k, KernelArgsBuilder args, string what)
    {
        backend.Launch(kernel, (uint)blocks, 1, 1, (uint)(shape.Tpb * shape.Wpt * 32),
            (uint)KernelLibrary.QuantGemvStreamSharedBytes(k, shape.Tpb * shape.Wpt, shape.Stages), args, what);
        StreamCalls++;
    }

    public void Linear(Tensor x, QuantizedWeight weight, Tensor? bias, Tensor output)
    {
        const string op = "LinearQuantized";
        var xv = backend.Own(x, nameof(x));
        if (xv.DType != DType.BF16) throw new NotSupportedException($"cuda {op}: x is {xv}; this backend computes in BF16");
        var o = backend.Own(output, nameof(output));
        if (o.DType is not (DType.BF16 or DType.F32)) throw new NotSupportedException($"cuda {op}: output is {o}; expected BF16 or F32");
        var w = Layout.Check(backend, weight);
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (xv.Length % k != 0) throw new ArgumentException($"cuda {op}: x {xv} rows must have K={k} elements (weight [{n},{k}] {weight.Format})");
        int t = (int)(xv.Length / k);
        if (o.Length != (long)t * n) throw new ArgumentException($"cuda {op}: output {o} must be [{t},{n}] for x {xv} and weight [{n},{k}]");
        CudaTensor? b = null;
        if (bias is not null)
        {
            b = backend.Own(bias, nameof(bias));
            if (b.DType != DType.BF16 || b.Length != n) throw new ArgumentException($"cuda {op}: bias {b} must be BF16 with N={n} elements");
        }
        if (t == 0) return;
        backend.Bind();
        bool f32Out = o.DType == DType.F32;
        // The legacy CUDA-core GEMV (A/B only) reads row-major codes, so that mode never permutes a weight.
        var tiles = weight.Format == QuantizedFormat.Int4 && StreamEnabled ? _tiled.Of(weight, w.Data, w.Scales, w.Zeros) : null;
        // One row of x on the tiled layout (quant_gemv_stream.cu), in the shape chosen for the product's size.
        if (t == 1 && tiles is { Tiled: true } && TryStream(xv, weight, w, b, null, o, tiles)) return;
        if (t <= KernelLibrary.MaxQuantGemvRows && GemvFits(weight, xv, w) && (tiles is { Tiled: true } || Int4MmaFits(weight)))
        {
            // Tensor-core Int4 GEMV (see quant_gemv.cu): 16 weight rows per tile, tiles per block of warps splitting
            // K. One tile per block by default: on the H200, GPTQ W1 ran at 315.5 tok/s with one and 294.7 with two
            // (more blocks in flight beat sharing each x fragment across two tiles). The row-major variants stay for
            // A/B runs (MODULAR_QGEMV with MODULAR_CUDA_INT4_TILED=0).
            var variant = KernelLibrary.QuantGemvInt4MmaVariants.ContainsKey(QuantGemvMode) ? QuantGemvMode : "r1";
            var (rowTiles, warps, _) = tiles is { Tiled: true } ? (1, 8, 3) : KernelLibrary.QuantGemvInt4MmaVariants[variant];
            var kernel = tiles is { Tiled: true } ? backend.Library.QuantGemvInt4MmaTiled : backend.Library.QuantGemvInt4Mma(variant);
            backend.Launch(kernel, (uint)((n + 16 * rowTiles - 1) / (16 * rowTiles)), 1, 1,
                (uint)warps * 32, 0,
                backend.Args().Ptr(xv.Pointer).Ptr(w.Data).Ptr(w.Scales).Ptr(w.Zeros).Ptr(b?.Pointer ?? 0).Ptr(o.Pointer)
                    .Int(n).Int(t).Int(k).Int(weight.RowBytes).Int(weight.Groups).Int(weight.GroupSize)
                    .Int(weight.ScaleBlockRows).Int(f32Out ? 1 : 0), "qgemv_int4_mma");
            return;
        }
        if (t <= KernelLibrary.MaxQuantGemvRows && GemvFits(weight, xv, w))
        {
            // More weight rows per warp reuse each unpacked chunk of x, as long as the grid still fills the device.
            int perWarp = KernelLibrary.MaxQuantGemvRowsPerWarp(t);
            const int warps = KernelLibrary.QuantGemvWarps;
            while (perWarp > 1 && (n + warps * perWarp - 1) / (warps * perWarp) < 2 * backend.MultiprocessorCount) perWarp /= 2;
            backend.Launch(backend.Library.QuantGemv((int)weight.Format, t, perWarp), (uint)((n + warps * perWarp - 1) / (warps * perWarp)), 1, 1, warps * 32, 0,
                backend.Args().Ptr(xv.Pointer).Ptr(w.Data).Ptr(w.Scales).Ptr(w.Zeros).Ptr(w.GroupIndex).Ptr(b?.Pointer ?? 0)
                    .Ptr(o.Pointer).Int(n).Int(k).Int(weight.RowBytes).Int(weight.Groups).Int(weight.GroupSize)
                    .Int(weight.ScaleBlockRows).Int(f32Out ? 1 : 0), "qgemv");
            return;
        }
        if (weight.Format == QuantizedFormat.Fp8E4M3 && TryFp8Gemm(new Fp8Input(xv), weight, w, b, o, t)) return;
        DequantizedGemm(xv, weight, w, o, t, tiles is { Tiled: true });
        if (b is not null)
            backend.LaunchElementwise(f32Out ? backend.Library.BiasAddF32 : backend.Library.BiasAddBf16, o.Length,
                backend.Args().Ptr(o.Pointer).Ptr(b.Pointer).Long(t).Int(n), "bias_add");
    }

    /// <summary>
    /// Which Int4 decode GEMV runs, from MODULAR_QGEMV: "legacy" = the CUDA-core kernel (qgemv_f0_*), kept for A/B
    /// runs in one process; a key of <see cref="KernelLibrary.QuantGemvInt4MmaVariants"/> ("r2", "w4s4", ...) = that
    /// tensor-core variant; anything else (the default) = the tensor-core kernel "r1".
    /// </summary>
    internal string QuantGemvMode { get; set; } = Environment.GetEnvironmentVariable("MODULAR_QGEMV") ?? "";

    /// <summary>
    /// The tensor-core Int4 GEMV folds scales per 128-input step, so a step must lie in one group: no act-order, and
    /// a group size that is a multiple of 128 or spans K.
    /// </summary>
    private bool Int4MmaFits(QuantizedWeight weight) =>
        QuantGemvMode != "legacy" && weight.Format == QuantizedFormat.Int4 && weight.GroupIndex is null
        && (weight.GroupSize % 128 == 0 || weight.GroupSize >= weight.InFeatures);

    /// <summary>The GEMV reads whole 16-byte chunks of codes and of x: K must fill them and the rows be aligned.</summary>
    private static bool GemvFits(QuantizedWeight weight, CudaTensor x, Layout w)
    {
        int chunk = weight.Format == QuantizedFormat.Int4 ? 32 : 16;
        return weight.InFeatures % chunk == 0 && ((x.Pointer | w.Data) & 15) == 0;
    }

    /// <summary>Dequantizes row tiles into scratch bf16 and multiplies each with cuBLAS into its output columns.</summary>
    private void DequantizedGemm(CudaTensor x, QuantizedWeight weight, Layout w, CudaTensor o, int t, bool tiled)
    {
        int n = weight.OutFeatures, k = weight.InFeatures;
        long tileRows = Math.Min(n, Math.Max(64, TileElements / k / 64 * 64));
        ulong tile = backend.Scratch.Acquire(tileRows * k * 2);
        bool f32Out = o.DType == DType.F32;
        int outSize = f32Out ? 4 : 2;
        float alpha = 1f, beta = 0f;
        // Int4 without act-order whose groups hold whole 32-input chunks: the chunk-per-thread kernel.
        bool chunked = weight.Format == QuantizedFormat.Int4 && weight.GroupIndex is null && k % 32 == 0
            && (weight.GroupSize % 32 == 0 || weight.GroupSize >= k) && (w.Data & 15) == 0 && weight.RowBytes % 16 == 0;
        for (int n0 = 0; n0 < n; n0 += (int)tileRows)
        {
            int rows = (int)Math.Min(tileRows, n - n0);
            if (chunked && (!tiled || rows % 16 == 0))
            {
                long chunks = (long)rows * (k / 32);
                backend.Launch(backend.Library.QuantDequantTileInt4, (uint)Math.Min((chunks + 255) / 256, 16L * backend.MultiprocessorCount), 1, 1, 256, 0,
                    backend.Args().Ptr(w.Data).Ptr(w.Scales).Ptr(w.Zeros).Ptr(tile).Int(n0).Int(rows).Int(k)
                        .Int(weight.RowBytes).Int(weight.Groups).Int(weight.GroupSize).Int(weight.ScaleBlockRows).Int(tiled ? 1 : 0),
                    "quant_dequant_tile_int4");
            }
            else
            {
                int segs = (k + 7) / 8;
                backend.Launch(backend.Library.QuantDequantTile, (uint)((segs + 255) / 256), (uint)Math.Min(rows, 65535), 1, 256, 0,
                    backend.Args().Ptr(w.Data).Ptr(w.Scales).Ptr(w.Zeros).Ptr(w.GroupIndex).Ptr(tile).Int(n0).Int(rows).Int(k)
                        .Int(weight.RowBytes).Int(weight.Groups).Int(weight.GroupSize).Int(weight.ScaleBlockRows).Int((int)weight.Format)
                        .Int(tiled ? 1 : 0),
                    "quant_dequant_tile_bf16");
            }
            // Row-major y[T, n0..n0+rows) is the column-major block y^T[rows, T] with leading dimension N.
            CudaCheck.Blas(Cublas.cublasGemmEx(backend.Blas.Raw, Cublas.OpT, Cublas.OpN, rows, t, k,
                &alpha, tile, Cublas.R16BF, k, x.Pointer, Cublas.R16BF, k,
                &beta, o.Pointer + (ulong)((long)n0 * outSize), f32Out ? Cublas.R32F : Cublas.R16BF, n, Cublas.Compute32F, Cublas.GemmDefault),
                $"cublasGemmEx(LinearQuantized tile rows {n0}..{n0 + rows} of [{n},{k}] {weight.Format}, x [{t},{k}])");
        }
    }

    /// <summary>
    /// output = (act(gate) * up) W^T (+ bias) for a stacked gateUp [T, 2K] and an FP8 weight [N, K] on the tensor-core
    /// path, with the activation computed inside the activation quantization (fp8_act_and_mul_quantize_rows): the bf16
    /// [T, K] intermediate and act_and_mul's launch disappear, and the codes equal the unfused pair's. False, having
    /// done nothing, for what that path does not take (GEMV-sized batches, other formats, K past the kernel's shared
    /// memory, shapes cuBLASLt refuses) and while <see cref="Fp8GatedInput"/> is off.
    /// </summary>
    public bool TryLinearGatedInput(Tensor gateUp, Activation activation, QuantizedWeight weight, Tensor? bias, Tensor output)
    {
        if (!Fp8GatedInput || weight.Format != QuantizedFormat.Fp8E4M3) return false;
        var g = backend.Own(gateUp, nameof(gateUp));
        var o = backend.Own(output, nameof(output));
        int k = weight.InFeatures;
        if (g.DType != DType.BF16 || o.DType is not (DType.BF16 or DType.F32) || g.Length % (2L * k) != 0 || 2 * k > RowStagingMaxSharedBytes)
            return false;
        return TryFp8Rows(new Fp8Input(g, Gated: activation), (int)(g.Length / (2L * k)), weight, bias, o);
    }

    /// <summary>
    /// The tail of the fused FP8 entries: T rows past the GEMV sizes, an output of [T, N], a bf16 bias of N, then the
    /// tensor-core product of <paramref name="input"/>. False, having done nothing, otherwise.
    /// </summary>
    private bool TryFp8Rows(in Fp8Input input, int t, QuantizedWeight weight, Tensor? bias, CudaTensor o)
    {
        int n = weight.OutFeatures;
        if (t <= KernelLibrary.MaxQuantGemvRows || o.Length != (long)t * n) return false;
        CudaTensor? b = null;
        if (bias is not null)
        {
            b = backend.Own(bias, nameof(bias));
            if (b.DType != DType.BF16 || b.Length != n) return false;
        }
        var w = Layout.Check(backend, weight);
        backend.Bind();
        return TryFp8Gemm(input, weight, w, b, o, t);
    }

    /// <summary>
    /// residual += add (when given), then output = RmsNorm(residual) W^T (+ bias) for an FP8 weight [N, K] on the
    /// tensor-core path, the norm computed inside the activation quantization (fp8_add_rmsnorm_quantize_rows): the
    /// norm's launch and its bf16 [T, K] output disappear, and the residual and codes equal the unfused pair's. False,
    /// having changed nothing, for what that path does not take (GEMV-sized batches, other formats, K not a multiple
    /// of 8 or past the kernel's shared memory, unaligned rows, shapes cuBLASLt refuses) and while
    /// <see cref="Fp8NormInput"/> is off.
    /// </summary>
    public bool TryLinearNormInput(Tensor? add, Tensor residual, Tensor normWeight, float eps, float weightOffset,
        QuantizedWeight weight, Tensor? bias, Tensor output)
    {
        if (!Fp8NormInput || weight.Format != QuantizedFormat.Fp8E4M3) return false;
        var r = backend.Own(residual, nameof(residual));
        var nw = backend.Own(normWeight, nameof(normWeight));
        var a = add is null ? null : backend.Own(add, nameof(add));
        var o = backend.Own(output, nameof(output));
        int k = weight.InFeatures;
        if (r.DType != DType.BF16 || nw.DType != DType.BF16 || a is { DType: not DType.BF16 } || o.DType is not (DType.BF16 or DType.F32)
            || k % 8 != 0 || 2 * k > RowStagingMaxSharedBytes || nw.Length != k || r.Length % k != 0 || (a is not null && a.Length != r.Length)
            || ((r.Pointer | nw.Pointer | (a?.Pointer ?? 0)) & 15) != 0)
            return false;
        return TryFp8Rows(new Fp8Input(r, Norm: new NormInput(a, nw, eps, weightOffset)), (int)(r.Length / k), weight, bias, o);
    }

    /// <summary>
    /// Whether FP8 products that follow an RMSNorm take the norm inside their input quantization
    /// (<see cref="TryLinearNormInput"/>; default on, MODULAR_CUDA_FP8_NORM_INPUT=0 turns it off for A/B runs).
    /// </summary>
    internal bool Fp8NormInput { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_FP8_NORM_INPUT") != "0";

    /// <summary>
    /// What the FP8 path quantizes per token: the rows of X; act(gate) * up of a stacked gate|up X [T, 2K]
    /// (<paramref name="Gated"/>); or the RMSNorm of the residual stream X after += Add (<paramref name="Norm"/>).
    /// </summary>
    private readonly record struct Fp8Input(CudaTensor X, Activation? Gated = null, NormInput? Norm = null);

    /// <summary>The norm an <see cref="Fp8Input"/> applies: residual += Add (when not null), then RmsNorm with Weight.</summary>
    private sealed record NormInput(CudaTensor? Add, CudaTensor Weight, float Eps, float Offset);

    /// <summary>
    /// Whether FP8 products whose input is act(gate) * up quantize it in one kernel (<see cref="TryLinearGatedInput"/>;
    /// default on, MODULAR_CUDA_FP8_GATED_INPUT=0 turns it off for A/B runs). H100, W2 FP8 in one call: 11,844 ->
    /// 12,093.5 output tok/s.
    /// </summary>
    internal bool Fp8GatedInput { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_FP8_GATED_INPUT") != "0";

    /// <summary>
    /// fp8_act_and_mul_quantize_rows and fp8_add_rmsnorm_quantize_rows keep a row of K bf16 in shared memory: at most
    /// the 48 KiB a launch gets by default.
    /// </summary>
    private const int RowStagingMaxSharedBytes = 48 * 1024;

    /// <summary>
    /// Per-token FP8 codes and scales of the GEMM's input (see <see cref="Fp8Input"/>); wvec (when not 0) also
    /// receives the weight's scale per output row.
    /// </summary>
    private void QuantizeRows(in Fp8Input input, int t, int k, ulong codes, ulong xScales, QuantizedWeight weight, ulong wScales, ulong wvec)
    {
        var lib = backend.Library;
        var x = input.X;
        if (input.Norm is { } norm)
            // The norm kernels' block size, so the sum of squares adds up in their order.
            backend.Launch(lib.Fp8AddRmsNormQuantizeRows, (uint)t, 1, 1, CudaKernels.RowThreadsFor(k), (uint)(2 * k),
                backend.Args().Ptr(norm.Add?.Pointer ?? 0).Ptr(x.Pointer).Ptr(norm.Weight.Pointer).Float(norm.Eps).Float(norm.Offset)
                    .Ptr(codes).Int(k).Ptr(xScales).Ptr(wScales).Int(weight.ScaleBlockRows).Int(weight.OutFeatures).Ptr(wvec),
                "fp8_add_rmsnorm_quantize_rows");
        else if (input.Gated is { } act)
            backend.Launch(lib.Fp8ActAndMulQuantizeRows, (uint)t, 1, 1, 256, (uint)(2 * k),
                backend.Args().Ptr(x.Pointer).Int((int)act).Ptr(codes).Int(k).Ptr(xScales).Ptr(wScales).Int(weight.ScaleBlockRows)
                    .Int(weight.OutFeatures).Ptr(wvec), "fp8_act_and_mul_quantize_rows");
        else
            backend.Launch(lib.Fp8ActQuantizeRows, (uint)t, 1, 1, 256, 0,
                backend.Args().Ptr(x.Pointer).Ptr(codes).Int(k).Ptr(xScales).Ptr(wScales).Int(weight.ScaleBlockRows)
                    .Int(weight.OutFeatures).Ptr(wvec), "fp8_act_quantize_rows");
    }

    /// <summary>
    /// FP8 x FP8 on the tensor cores when the weight's scales do not vary along K (per tensor, per channel, or blocks
    /// of output rows) and cuBLASLt offers an algorithm for the shape; false sends the call to the tiled path.
    /// </summary>
    private bool TryFp8Gemm(in Fp8Input input, QuantizedWeight weight, Layout w, CudaTensor? bias, CudaTensor o, int t)
    {
        var x = input.X;
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (!Fp8ActivationQuantization || weight.GroupIndex is not null || weight.GroupSize < k || k % 16 != 0 || n % 16 != 0
            || ((x.Pointer | w.Data) & 15) != 0)
            return false;
        if (Fp8ScaledGemm && TryScaledFp8Gemm(input, weight, w, bias, o, t))
        {
            Fp8ScaledGemms++;
            return true;
        }
        // The float32 accumulator is bounded by chunking the rows of x (prefill chunks reach 16k tokens).
        int chunk = (int)Math.Min(t, Math.Max(16, AccElements / n / 16 * 16));
        var plan = Plan(n, chunk, k);
        var tail = t % chunk == 0 ? plan : Plan(n, t % chunk, k);
        if (plan is null || tail is null) return false;
        long xq = ScratchArena.Align((long)t * 4), acc = xq + ScratchArena.Align((long)t * k);
        ulong basePtr = backend.Scratch.Acquire(acc + (long)chunk * n * 4);
        ulong xScales = basePtr, xCodes = basePtr + (ulong)xq, accPtr = basePtr + (ulong)acc;
        var lib = backend.Library;
        QuantizeRows(input, t, k, xCodes, xScales, weight, w.Scales, 0);
        int outSize = o.DType == DType.F32 ? 4 : 2;
        float alpha = 1f, beta = 0f;
        for (int t0 = 0; t0 < t; t0 += chunk)
        {
            int rows = Math.Min(chunk, t - t0);
            var p = rows == chunk ? plan : tail;
            backend.Profiler?.Begin();
            fixed (CublasLt.HeuristicResult* algo = &p.Algo)
                CudaCheck.Blas(CublasLt.cublasLtMatmul(_lt!.Raw, p.Desc.Raw, &alpha, w.Data, p.A.Raw, xCodes + (ulong)((long)t0 * k), p.B.Raw,
                    &beta, accPtr, p.D.Raw, accPtr, p.D.Raw, algo, _ltWorkspace!.Pointer, (nuint)LtWorkspaceBytes, backend.Stream.Raw),
                    $"cublasLtMatmul(FP8 [{rows},{k}] x [{n},{k}]^T)");
            backend.Profiler?.End($"cublaslt fp8 m={CudaKernels.Bucket(rows)} n={n} k={k}");
            backend.Launch(lib.Fp8GemmEpilogue, (uint)((n + 255) / 256), (uint)Math.Min(rows, 65535), 1, 256, 0,
                backend.Args().Ptr(accPtr).Int(p.AccBf16 ? 1 : 0).Ptr(xScales + (ulong)((long)t0 * 4)).Ptr(w.Scales).Int(weight.ScaleBlockRows)
                    .Ptr(bias?.Pointer ?? 0).Ptr(o.Pointer + (ulong)((long)t0 * n * outSize)).Int(rows).Int(n).Int(outSize == 4 ? 1 : 0),
                "fp8_gemm_epilogue");
        }
        Fp8EpilogueGemms++;
        return true;
    }

    /// <summary>
    /// The FP8 GEMM with the scales folded into cuBLASLt: in its column-major view y^T[N, T] = W[N, K] x^T, so A (the
    /// weight) takes the per-output-channel vector (one entry per row of op(A), N) and B (the activations) the
    /// per-token vector (one per column of op(B), T); the bias is a per-row-of-D epilogue, i.e. per output channel.
    /// False (nothing launched) when cuBLASLt has no such algorithm; the refusal is remembered per shape variant.
    /// </summary>
    private bool TryScaledFp8Gemm(in Fp8Input input, QuantizedWeight weight, Layout w, CudaTensor? bias, CudaTensor o, int t)
    {
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (_scaledMissing is not null || (o.Pointer & 15) != 0 || !EnsureLt()) return false;
        // Per-channel scales are already the vector A wants; a scale per tensor or per block of rows is expanded to one
        // per row by the quantize kernel (also done for a vector not 16-byte aligned, the alignment assumed here).
        bool direct = weight.ScaleBlockRows == 1 && (w.Scales & 15) == 0;
        long wvecAt = ScratchArena.Align((long)t * 4);
        long codesAt = wvecAt + (direct ? 0 : ScratchArena.Align((long)n * 4));
        ulong basePtr = backend.Scratch.Acquire(codesAt + (long)t * k);
        ulong xScales = basePtr, wvec = direct ? 0 : basePtr + (ulong)wvecAt, xCodes = basePtr + (ulong)codesAt;
        ulong wScales = direct ? w.Scales : wvec;
        // The heuristic judges the bias pointer's alignment by its value, so only allocation-aligned biases are fused
        // (every later call then meets the alignment the plan was chosen for); others are added by bias_add.
        ulong fusable = bias is not null && (bias.Pointer & 255) == 0 ? bias.Pointer : 0;
        var key = new ScaledKey(n, t, k, o.DType == DType.F32, fusable != 0, (o.Pointer & 255) == 0);
        var plan = ScaledPlan(key, fusable, wScales, xScales);
        if (plan is null && fusable != 0) plan = ScaledPlan(key with { FusedBias = false }, 0, wScales, xScales);
        if (plan is null) return false;

        var lib = backend.Library;
        QuantizeRows(input, t, k, xCodes, xScales, weight, w.Scales, wvec);
        // The descriptor is read when the matmul is enqueued, so a cached plan takes this call's vectors and bias.
        plan.Desc.SetPointer(CublasLt.DescAScalePointer, wScales, "A_SCALE_POINTER");
        plan.Desc.SetPointer(CublasLt.DescBScalePointer, xScales, "B_SCALE_POINTER");
        if (plan.FusedBias) plan.Desc.SetPointer(CublasLt.DescBiasPointer, bias!.Pointer, "BIAS_POINTER");
        float alpha = 1f, beta = 0f;
        backend.Profiler?.Begin();
        fixed (CublasLt.HeuristicResult* algo = &plan.Algo)
            CudaCheck.Blas(CublasLt.cublasLtMatmul(_lt!.Raw, plan.Desc.Raw, &alpha, w.Data, plan.A.Raw, xCodes, plan.B.Raw,
                &beta, o.Pointer, plan.D.Raw, o.Pointer, plan.D.Raw, algo, _ltWorkspace!.Pointer, (nuint)LtWorkspaceBytes, backend.Stream.Raw),
                $"cublasLtMatmul(FP8 outer-vector scaled [{t},{k}] x [{n},{k}]^T -> {o.DType})");
        backend.Profiler?.End($"cublaslt fp8 scaled m={CudaKernels.Bucket(t)} n={n} k={k}");
        if (bias is not null && !plan.FusedBias)
            backend.LaunchElementwise(o.DType == DType.F32 ? lib.BiasAddF32 : lib.BiasAddBf16, o.Length,
                backend.Args().Ptr(o.Pointer).Ptr(bias.Pointer).Long(t).Int(n), "bias_add");
        return true;
    }

    /// <summary>The scaled plan for one shape variant, or null when cuBLASLt refused it (cached and counted either way).</summary>
    private ScaledFp8Plan? ScaledPlan(ScaledKey key, ulong bias, ulong aScale, ulong bScale)
    {
        if (_scaledPlans.TryGetValue(key, out var cached)) return cached;
        var preference = key.Aligned256 ? _preference! : (_preferenceAlign16 ??= new CublasLtPreference((ulong)LtWorkspaceBytes, 16));
        var plan = ScaledFp8Plan.Create(_lt!, preference, key, bias, aScale, bScale, Fp8FastAccum, out var refusal, out bool attributeMissing);
        if (attributeMissing)
        {
            // The library predates outer-vector scaling: no shape will do, so stop asking.
            _scaledMissing = refusal;  // Create returned no plan
            return null;
        }
        _scaledPlans[key] = plan;
        if (plan is null)
        {
            Fp8ScaledShapesRefused++;
            _lastScaledRefusal = refusal;
            // A device that refuses every variant (e.g. Ada, where outer-vector FP8 scaling is not offered) would
            // otherwise pay a heuristic query for each new prefill length: after a few refusals and no plan, stop.
            if (_scaledPlanned == 0 && Fp8ScaledShapesRefused >= ScaledRefusalsBeforeGivingUp)
                _scaledMissing = $"cuBLASLt refused outer-vector FP8 scaling for the first {Fp8ScaledShapesRefused} shape variants "
                    + $"and planned none, so it is not asked again; last: {refusal}";
        }
        else
        {
            _scaledPlanned++;
            Fp8ShapesPlanned++;
        }
        return plan;
    }

    /// <summary>The cuBLASLt descriptors and algorithm for one shape, or null when cuBLASLt has none (cached either way).</summary>
    private Fp8Plan? Plan(int n, int t, int k)
    {
        if (_plans.TryGetValue((n, t, k), out var cached)) return cached;
        Fp8Plan? plan = null;
        if (EnsureLt())
        {
            // A bf16 accumulator image costs the epilogue 4 bytes per output less than float32 (the raw sums are
            // rounded once more, 2^-9, before scaling to a bf16 output anyway); float32 is the fallback.
            plan = Fp8Plan.Create(_lt!, _preference!, n, t, k, Cublas.R16BF, Fp8FastAccum) ?? Fp8Plan.Create(_lt!, _preference!, n, t, k, Cublas.R32F, Fp8FastAccum);
        }
        _plans[(n, t, k)] = plan;
        if (plan is null) Fp8ShapesRefused++; else Fp8ShapesPlanned++;
        return plan;
    }

    private bool EnsureLt()
    {
        if (_lt is not null) return true;
        if (_ltMissing is not null) return false;
        // FP8 tensor cores arrived with sm_89 (Ada) and sm_90 (Hopper).
        if (int.Parse(backend.Arch, System.Globalization.CultureInfo.InvariantCulture) < 89)
        {
            _ltMissing = $"sm_{backend.Arch} has no FP8 tensor cores";
            return false;
        }
        if (!NativeLibraries.TryLoad(NativeLibraries.CublasLt, out _, out var why))
        {
            _ltMissing = $"cuBLASLt not found: {why}";
            return false;
        }
        _lt = new CublasLtHandle(backend.Context);
        _preference = new CublasLtPreference((ulong)LtWorkspaceBytes);
        _ltWorkspace = new DeviceBuffer(backend.Context, backend.Stream, LtWorkspaceBytes);
        return true;
    }

    public void Dispose()
    {
        foreach (var p in _plans.Values) p?.Dispose();
        _plans.Clear();
        foreach (var p in _scaledPlans.Values) p?.Dispose();
        _scaledPlans.Clear();
        _ltWorkspace?.Dispose();
        _preferenceAlign16?.Dispose();
        _preference?.Dispose();
        _lt?.Dispose();
    }

    /// <summary>Device addresses of a checked weight's tensors (0 for absent zeros / group index).</summary>
    private readonly record struct Layout(ulong Data, ulong Scales, ulong Zeros, ulong GroupIndex)
    {
        /// <summary>Checks every tensor's backend, dtype and size against the description, so kernels can trust them.</summary>
        public static Layout Check(CudaBackend backend, QuantizedWeight w)
        {
            int n = w.OutFeatures, k = w.InFeatures;
            if (!Supports(w.Format)) throw new NotSupportedException($"cuda LinearQuantized: format {w.Format} is not supported");
            if (n <= 0 || k <= 0 || w.GroupSize <= 0 || w.ScaleBlockRows <= 0)
                throw new ArgumentException($"quantized weight [{n},{k}]: group size {w.GroupSize} and scale block rows {w.ScaleBlockRows} must be positive");
            var data = Expect(backend, w.Data, DType.U8, (long)n * w.RowBytes, "Data");
            if (w.GroupIndex is null && w.Groups != (k + w.GroupSize - 1) / w.GroupSize)
                throw new ArgumentException($"quantized weight [{n},{k}]: {w.Groups} scale groups, but group size {w.GroupSize} implies {(k + w.GroupSize - 1) / w.GroupSize}");
            var scales = Expect(backend, w.Scales, DType.F32, (long)((n + w.ScaleBlockRows - 1) / w.ScaleBlockRows) * w.Groups, "Scales");
            ulong zeros = 0, gidx = 0;
            if (w.Zeros is not null)
            {
                if (w.Format == QuantizedFormat.Fp8E4M3) throw new ArgumentException("quantized weight: FP8 weights take no zero points");
                zeros = Expect(backend, w.Zeros, DType.F32, (long)n * w.Groups, "Zeros");
            }
            if (w.GroupIndex is not null) gidx = Expect(backend, w.GroupIndex, DType.I32, k, "GroupIndex");
            return new Layout(data, scales, zeros, gidx);
        }

        private static ulong Expect(CudaBackend backend, Tensor t, DType dtype, long length, string field)
        {
            var c = backend.Own(t, field);
            if (c.DType != dtype || c.Length != length)
                throw new ArgumentException($"quantized weight {field} is {c}, expected {dtype} with {length} elements");
            return c.Pointer;
        }
    }

    /// <summary>
    /// Descriptors of y^T[N, T] = W[N, K] x[T, K]^T in cuBLASLt's column-major terms: A = the weight's codes read
    /// transposed (K x N, leading dimension K), B = the activation codes (K x T), D = the accumulator (N x T).
    /// Both FP8 operands are K-major, the layout Hopper's FP8 kernels require.
    /// </summary>
    private sealed class Fp8Plan : LtPlan
    {
        public required bool AccBf16 { get; init; }

        public static Fp8Plan? Create(CublasLtHandle lt, CublasLtPreference preference, int n, int t, int k, int accType, bool fastAccum)
        {
            var desc = Fp8Desc(fastAccum);
            var a = new CublasLtLayout(CublasLt.R8FE4M3, k, n, k);
            var b = new CublasLtLayout(CublasLt.R8FE4M3, k, t, k);
            var d = new CublasLtLayout(accType, n, t, n);
            CublasLt.HeuristicResult result;
            int returned = 0;
            int status = CublasLt.cublasLtMatmulAlgoGetHeuristic(lt.Raw, desc.Raw, a.Raw, b.Raw, d.Raw, d.Raw, preference.Raw, 1, &result, &returned);
            if (status != 0 || returned == 0 || result.State != 0)
            {
                desc.Dispose(); a.Dispose(); b.Dispose(); d.Dispose();
                return null;
            }
            return new Fp8Plan { Desc = desc, A = a, B = b, D = d, AccBf16 = accType == Cublas.R16BF, Algo = result };
        }
    }

    /// <summary>The descriptors and chosen algorithm of one cuBLASLt FP8 matmul (A = weight codes, B = activation codes).</summary>
    private abstract class LtPlan : IDisposable
    {
        public required CublasLtMatmulDesc Desc { get; init; }
        public required CublasLtLayout A { get; init; }
        public required CublasLtLayout B { get; init; }
        public required CublasLtLayout D { get; init; }
        public CublasLt.HeuristicResult Algo;

        public void Dispose()
        {
            Desc.Dispose(); A.Dispose(); B.Dispose(); D.Dispose();
        }

        /// <summary>An FP8 matmul descriptor: A^T B with float32 compute and scale, fast accumulation when asked.</summary>
        protected static CublasLtMatmulDesc Fp8Desc(bool fastAccum)
        {
            var desc = new CublasLtMatmulDesc(Cublas.Compute32F, Cublas.R32F, Cublas.OpT, Cublas.OpN);
            if (fastAccum) desc.SetInt8(CublasLt.DescFastAccum, 1, "FAST_ACCUM");
            return desc;
        }
    }

    /// <summary>
    /// One scaled-GEMM variant: output dtype, whether the bias is fused, and whether D is 256-byte aligned (else the
    /// plan is chosen for 16-byte alignment), besides the shape.
    /// </summary>
    private readonly record struct ScaledKey(int N, int T, int K, bool F32Out, bool FusedBias, bool Aligned256);

    /// <summary>
    /// Descriptors of y^T[N, T] = (wscale[N] x xscale[T]) . (W[N, K] x[T, K]^T) (+ bias[N]) in cuBLASLt's column-major
    /// terms, written straight to the output: A = the weight's codes (K x N, read transposed) with its outer vector of N
    /// scales, B = the activation codes (K x T) with T per-token scales, C = D = the output (N x T, leading dimension N).
    /// </summary>
    private sealed class ScaledFp8Plan : LtPlan
    {
        public required bool FusedBias { get; init; }

        /// <summary>
        /// The plan, or null with the reason in <paramref name="refusal"/>; <paramref name="attributeMissing"/> when the
        /// library rejected the scale mode attributes themselves (older than CUDA 12.8), not just this shape.
        /// </summary>
        public static ScaledFp8Plan? Create(CublasLtHandle lt, CublasLtPreference preference, ScaledKey key, ulong bias,
            ulong aScale, ulong bScale, bool fastAccum, out string? refusal, out bool attributeMissing)
        {
            refusal = null;
            attributeMissing = false;
            var desc = Fp8Desc(fastAccum);
            int status = desc.TrySetInt32(CublasLt.DescAScaleMode, CublasLt.MatrixScaleOuterVec32F);
            if (status == 0) status = desc.TrySetInt32(CublasLt.DescBScaleMode, CublasLt.MatrixScaleOuterVec32F);
            if (status != 0)
            {
                desc.Dispose();
                attributeMissing = true;
                refusal = $"cuBLASLt rejected OUTER_VEC_32F scale modes: {CudaCheck.BlasStatusName(status)} ({status})";
                return null;
            }
            desc.SetPointer(CublasLt.DescAScalePointer, aScale, "A_SCALE_POINTER");
            desc.SetPointer(CublasLt.DescBScalePointer, bScale, "B_SCALE_POINTER");
            if (bias != 0)
            {
                desc.SetInt32(CublasLt.DescEpilogue, CublasLt.EpilogueBias, "EPILOGUE");
                desc.SetInt32(CublasLt.DescBiasDataType, Cublas.R16BF, "BIAS_DATA_TYPE");
                desc.SetPointer(CublasLt.DescBiasPointer, bias, "BIAS_POINTER");
            }
            int outType = key.F32Out ? Cublas.R32F : Cublas.R16BF;
            var a = new CublasLtLayout(CublasLt.R8FE4M3, key.K, key.N, key.K);
            var b = new CublasLtLayout(CublasLt.R8FE4M3, key.K, key.T, key.K);
            var d = new CublasLtLayout(outType, key.N, key.T, key.N);
            // The heuristic's first answer is kept. Timing its top eight on each shape's first call was tried and
            // dropped: W2 FP8 on the H100 ran 12,795.5 tok/s with it against 12,784.2 without (one call).
            CublasLt.HeuristicResult result;
            int returned = 0;
            status = CublasLt.cublasLtMatmulAlgoGetHeuristic(lt.Raw, desc.Raw, a.Raw, b.Raw, d.Raw, d.Raw, preference.Raw, 1, &result, &returned);
            if (status != 0 || returned == 0 || result.State != 0)
            {
                desc.Dispose(); a.Dispose(); b.Dispose(); d.Dispose();
                int why = status != 0 ? status : returned == 0 ? CublasLt.StatusNotSupported : result.State;
                refusal = $"no outer-vector-scaled algorithm for [{key.T},{key.K}] x [{key.N},{key.K}]^T -> {(key.F32Out ? "f32" : "bf16")}"
                    + $"{(bias != 0 ? " + bias epilogue" : "")}{(key.Aligned256 ? "" : " (D 16-byte aligned)")}: {CudaCheck.BlasStatusName(why)} ({why})";
                return null;
            }
            return new ScaledFp8Plan { Desc = desc, A = a, B = b, D = d, FusedBias = bias != 0, Algo = result };
        }
    }
}
