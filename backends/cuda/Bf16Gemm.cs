using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// bf16 x bf16 GEMMs (float32 accumulation, bf16 or float32 output) through cuBLASLt with the algorithm chosen by
/// timing: the first time a shape class is seen outside graph capture, each of the heuristic's first
/// <see cref="Candidates"/> algorithms runs <see cref="TimedRuns"/> times on the real operands and the fastest wins.
/// </summary>
/// <remarks>
/// Why: cublasGemmEx takes the heuristic's first answer, which is not the fastest kernel for every LLM shape on Hopper
/// (tile shape and cluster size against wave quantization: an o projection at 512 rows fills one wave of 128 x 128
/// tiles but half a wave of 256 x 128 ones). A shape class is (N, K, output dtype, T rounded up to a power of two), so
/// serving, where every prefill chunk has its own T, tunes once per class and not per length; a length whose
/// heuristic list lacks the class's winner takes its own first answer. Tuning runs the product several times into
/// its own output, which is then overwritten by the real call, so results do not depend on it.
/// MODULAR_CUDA_GEMM_TUNE=0 keeps the heuristic's first answer (A/B runs); MODULAR_CUDA_GEMM_LT=0 sends every product
/// back to cublasGemmEx. The heuristic is told each operand's real alignment (up to 256 bytes; views aligned below 16
/// take cublasGemmEx), as cuBLASLt otherwise assumes 256 and may answer with algorithms that refuse a row slice; any
/// refusal at run time also falls back to cublasGemmEx, since nothing was enqueued.
/// </remarks>
internal sealed unsafe class Bf16Gemm(CudaBackend backend) : IDisposable
{
    /// <summary>Heuristic answers timed per shape class.</summary>
    internal const int Candidates = 8;

    /// <summary>Timed runs per candidate (after one warm-up); the median counts.</summary>
    internal const int TimedRuns = 3;

    private const long WorkspaceBytes = 32L << 20;

    /// <summary>MODULAR_CUDA_GEMM_LT=0: every bf16 product through cublasGemmEx, as before this class.</summary>
    internal static readonly bool Enabled = Environment.GetEnvironmentVariable("MODULAR_CUDA_GEMM_LT") != "0";

    /// <summary>MODULAR_CUDA_GEMM_TUNE=0: cuBLASLt with the heuristic's first answer, no timing.</summary>
    internal static readonly bool Tune = Environment.GetEnvironmentVariable("MODULAR_CUDA_GEMM_TUNE") != "0";

    private readonly Dictionary<(int N, int T, int K, bool F32, int Align), Plan?> _plans = new();
    private readonly Dictionary<(int N, int Bucket, int K, bool F32, int Align), CublasLt.HeuristicResult> _winners = new();
    private readonly Dictionary<int, CublasLtPreference> _preferences = new();
    private CublasLtHandle? _lt;
    private DeviceBuffer? _workspace;
    private string? _missing;

    /// <summary>Shape classes tuned so far, and how many of them a candidate other than the heuristic's first won.</summary>
    internal (int Tuned, int Changed) TuneStats { get; private set; }

    /// <summary>
    /// Enqueues o[T,N] = x[T,K] w[N,K]^T. False, having enqueued nothing, where cuBLASLt is unavailable or has no
    /// algorithm for the shape (the caller then uses cublasGemmEx).
    /// </summary>
    internal bool TryRun(ulong w, ulong x, ulong o, int n, int t, int k, bool f32Out)
    {
        int aw = Alignment(w), ax = Alignment(x), ao = Alignment(o);
        if (Math.Min(aw, Math.Min(ax, ao)) < 16 || !Ready()) return false;
        int align = aw | ax << 9 | ao << 18;  // each at most 256: nine bits apiece
        var plan = PlanFor(n, t, k, f32Out, align);
        if (plan is null || plan.Refused) return false;
        if (plan.Chosen < 0 && !Choose(plan, w, x, o, (n, CudaKernels.Bucket(t), k, f32Out, align))) return false;
        // A refusal enqueues nothing, so the caller's cublasGemmEx can still run (in a capture too).
        return Matmul(plan, Math.Max(plan.Chosen, 0), w, x, o) == 0;
    }

    /// <summary>The largest power of two up to 256 that divides the address (cuBLASLt's alignment preferences).</summary>
    private static int Alignment(ulong p) => p == 0 ? 256 : (int)Math.Min(256UL, p & (~p + 1));

    private bool Ready()
    {
        if (_lt is not null) return true;
        if (_missing is not null) return false;
        // Setting up allocates the workspace, which a graph being recorded would capture as its own allocation: the
        // first product recorded before any ran directly takes cublasGemmEx instead.
        if (backend.Capturing) return false;
        if (!Enabled) { _missing = "MODULAR_CUDA_GEMM_LT=0"; return false; }
        if (!NativeLibraries.TryLoad(NativeLibraries.CublasLt, out _, out var why)) { _missing = $"cuBLASLt not found: {why}"; return false; }
        // The handle is published last: a failed workspace allocation leaves the class not ready, not half set up.
        var lt = new CublasLtHandle(backend.Context);
        try { _workspace = new DeviceBuffer(backend.Context, backend.Stream, WorkspaceBytes); }
        catch { lt.Dispose(); throw; }
        _lt = lt;
        return true;
    }

    private Plan? PlanFor(int n, int t, int k, bool f32Out, int align)
    {
        var key = (n, t, k, f32Out, align);
        if (_plans.TryGetValue(key, out var plan)) return plan;
        if (!_preferences.TryGetValue(align, out var preference))
        {
            preference = new CublasLtPreference((ulong)WorkspaceBytes, (uint)(align & 511), (uint)(align >> 9 & 511), (uint)(align >> 18));
            _preferences[align] = preference;
        }
        plan = Plan.Create(_lt!, preference, n, t, k, f32Out);
        _plans[key] = plan;
        return plan;
    }

    /// <summary>
    /// Picks the plan's algorithm: the shape class's winner where this length offers it, else by timing (outside graph
    /// capture, with tuning on), else the heuristic's first answer. Inside a capture the first answer is used without
    /// being kept, so a later uncaptured call still tunes. False when no candidate runs (the caller falls back).
    /// </summary>
    private bool Choose(Plan plan, ulong w, ulong x, ulong o, (int, int, int, bool, int) cls)
    {
        if (_winners.TryGetValue(cls, out var winner))
        {
            plan.Chosen = Math.Max(0, plan.IndexOf(winner));
            return true;
        }
        // Nothing to time: the first answer, and no class winner, so each length of the class keeps its own first.
        if (!Tune || plan.Count == 1) { plan.Chosen = 0; return true; }
        if (backend.Capturing) return true;
        using var start = new CudaEvent(backend.Context);
        using var end = new CudaEvent(backend.Context);
        var times = new float[TimedRuns];
        int best = -1;
        float bestTime = float.MaxValue;
        for (int c = 0; c < plan.Count; c++)
        {
            if (Matmul(plan, c, w, x, o) != 0) continue; // an algorithm the heuristic offered but cannot run here
            bool ran = true;
            for (int r = 0; r < TimedRuns && ran; r++)
            {
                start.Record(backend.Stream);
                ran = Matmul(plan, c, w, x, o) == 0;
                end.Record(backend.Stream);
                times[r] = end.ElapsedSince(start);
            }
            if (!ran) continue;
            Array.Sort(times);
            if (times[TimedRuns / 2] < bestTime) { bestTime = times[TimedRuns / 2]; best = c; }
        }
        if (best < 0) { plan.Refused = true; return false; }
        plan.Chosen = best;
        _winners[cls] = plan.Results[best];
        TuneStats = (TuneStats.Tuned + 1, TuneStats.Changed + (best != 0 ? 1 : 0));
        return true;
    }

    private int Matmul(Plan plan, int candidate, ulong w, ulong x, ulong o)
    {
        float alpha = 1f, beta = 0f;
        fixed (CublasLt.HeuristicResult* algo = &plan.Results[candidate])
            return CublasLt.cublasLtMatmul(_lt!.Raw, plan.Desc.Raw, &alpha, w, plan.A.Raw, x, plan.B.Raw, &beta, o, plan.D.Raw,
                o, plan.D.Raw, algo, _workspace!.Pointer, (nuint)WorkspaceBytes, backend.Stream.Raw);
    }

    public void Dispose()
    {
        foreach (var p in _plans.Values) p?.Dispose();
        _plans.Clear();
        foreach (var p in _preferences.Values) p.Dispose();
        _preferences.Clear();
        _workspace?.Dispose();
        _lt?.Dispose();
    }

    /// <summary>
    /// Descriptors of y^T[N, T] = W[N, K] x[T, K]^T in cuBLASLt's column-major terms (A = the weight read transposed,
    /// K x N with leading dimension K; B = the activations, K x T; D = the output, N x T) and the heuristic's answers.
    /// </summary>
    private sealed class Plan : IDisposable
    {
        public required CublasLtMatmulDesc Desc { get; init; }
        public required CublasLtLayout A { get; init; }
        public required CublasLtLayout B { get; init; }
        public required CublasLtLayout D { get; init; }
        public required CublasLt.HeuristicResult[] Results { get; init; }
        public int Count => Results.Length;
        /// <summary>Index into Results of the algorithm in use; -1 until chosen.</summary>
        public int Chosen = -1;
        /// <summary>Every candidate failed when timed: this shape takes cublasGemmEx from now on.</summary>
        public bool Refused;

        public static Plan? Create(CublasLtHandle lt, CublasLtPreference preference, int n, int t, int k, bool f32Out)
        {
            var desc = new CublasLtMatmulDesc(Cublas.Compute32F, Cublas.R32F, Cublas.OpT, Cublas.OpN);
            var a = new CublasLtLayout(Cublas.R16BF, k, n, k);
            var b = new CublasLtLayout(Cublas.R16BF, k, t, k);
            var d = new CublasLtLayout(f32Out ? Cublas.R32F : Cublas.R16BF, n, t, n);
            var results = new CublasLt.HeuristicResult[Candidates];
            int returned = 0;
            int status;
            fixed (CublasLt.HeuristicResult* r = results)
                status = CublasLt.cublasLtMatmulAlgoGetHeuristic(lt.Raw, desc.Raw, a.Raw, b.Raw, d.Raw, d.Raw, preference.Raw, Candidates, r, &returned);
            int usable = 0;
            for (int i = 0; i < returned; i++) if (results[i].State == 0) results[usable++] = results[i];
            if (status != 0 || usable == 0)
            {
                desc.Dispose(); a.Dispose(); b.Dispose(); d.Dispose();
                return null;
            }
            return new Plan { Desc = desc, A = a, B = b, D = d, Results = results[..usable] };
        }

        /// <summary>Index of the answer whose algorithm bytes equal <paramref name="r"/>'s, or -1.</summary>
        public int IndexOf(in CublasLt.HeuristicResult r)
        {
            for (int i = 0; i < Results.Length; i++)
            {
                bool same = true;
                for (int j = 0; j < 8 && same; j++) same = Results[i].Algo[j] == r.Algo[j];
                if (same) return i;
            }
            return -1;
        }

        public void Dispose()
        {
            Desc.Dispose(); A.Dispose(); B.Dispose(); D.Dispose();
        }
    }
}
