using System.Text;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// Where device time goes, per kernel name and GEMM shape: with MODULAR_CUDA_PROFILE=1 every launch and cuBLAS call
/// is bracketed by two events and waited for, and the backend prints the table to stderr when disposed. Waiting
/// after each launch removes overlap; captured graphs are not timed, so profile with MODULAR_GRAPHS=0; the figures are
/// device times per kernel (launch gaps excluded), for finding the largest costs, not for end-to-end speed.
/// Before each start event the stream runs <c>profile_hold</c> for <see cref="HoldNanoseconds"/>: without it the
/// stream sat idle at the start event while the host was still enqueueing the launch, and that host latency (several
/// microseconds, a cuBLASLt call more) was counted as the kernel's, which weighs most on the short decode-sized
/// kernels. Kernels launched through <see cref="CudaBackend.Launch"/> are keyed by name and grid size (a power-of-two
/// bucket), so a row kernel's decode and prefill launches are told apart. The hold is launched here directly, not
/// through <see cref="CudaBackend.Launch"/>, which would time it as well.
/// </summary>
internal sealed class LaunchProfiler : IDisposable
{
    private readonly CudaEvent _start, _end;
    private readonly CudaStream _stream;
    private readonly nint _hold;
    private readonly Dictionary<string, (long Count, double Ms)> _totals = new(StringComparer.Ordinal);

    /// <summary>A profiler when MODULAR_CUDA_PROFILE=1, else null.</summary>
    internal static LaunchProfiler? FromEnvironment(CudaContext context, CudaStream stream, nint holdKernel) =>
        Environment.GetEnvironmentVariable("MODULAR_CUDA_PROFILE") == "1" ? new LaunchProfiler(context, stream, holdKernel) : null;

    /// <summary>How long the stream is held before each start event: longer than the host takes to enqueue one launch.</summary>
    private const ulong HoldNanoseconds = 60_000;

    private LaunchProfiler(CudaContext context, CudaStream stream, nint holdKernel)
    {
        _stream = stream;
        _hold = holdKernel;
        _start = new CudaEvent(context);
        _end = new CudaEvent(context);
    }

    /// <summary>Marks the start of one timed piece of work.</summary>
    internal unsafe void Begin()
    {
        ulong ns = HoldNanoseconds;
        void** args = stackalloc void*[1];
        args[0] = &ns;
        CudaCheck.Driver(CudaDriver.cuLaunchKernel(_hold, 1, 1, 1, 32, 1, 1, 0, _stream.Raw, args, null), "cuLaunchKernel(profile_hold)");
        _start.Record(_stream);
    }

    /// <summary>
    /// <see cref="End(string)"/> for a kernel launch: the key is the name and the grid's block count rounded up to a
    /// power of two.
    /// </summary>
    internal void End(string name, long blocks) => End($"{name} [{CudaKernels.Bucket((int)Math.Min(blocks, int.MaxValue))} blocks]");

    /// <summary>Waits for the work begun at <see cref="Begin"/> and adds its time under <paramref name="name"/>.</summary>
    internal void End(string name)
    {
        _end.Record(_stream);
        double ms = _end.ElapsedSince(_start);
        _totals[name] = _totals.TryGetValue(name, out var t) ? (t.Count + 1, t.Ms + ms) : (1, ms);
    }

    /// <summary>The table: name, calls, total ms, share, mean µs; largest first.</summary>
    internal string Report()
    {
        double all = _totals.Values.Sum(v => v.Ms);
        var sb = new StringBuilder($"[cuda profile] {all:F1} ms of device time in {_totals.Values.Sum(v => v.Count)} launches\n");
        foreach (var (name, (count, ms)) in _totals.OrderByDescending(kv => kv.Value.Ms).Take(60))
            sb.Append($"[cuda profile] {ms,10:F1} ms {100 * ms / Math.Max(all, 1e-9),5:F1}% {count,8} x {1000 * ms / count,9:F1} us  {name}\n");
        return sb.ToString();
    }

    public void Dispose()
    {
        _start.Dispose();
        _end.Dispose();
    }
}
