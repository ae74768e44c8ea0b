using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Backends.Rocm;

[assembly: AssemblyFixture(typeof(Modular.Rocm.Tests.RocmFixture))]
// One device queue per backend: tests must not drive it from several threads at once.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace Modular.Rocm.Tests;

/// <summary>
/// The devices under test, each opened once through the plugin's <see cref="IBackendProvider"/> (as the host and
/// the conformance suite do): the OpenCL device (pocl here and in CI), ILGPU's CPU simulator as the fallback
/// tier, and the CPU backend as the reference.
/// </summary>
public sealed class RocmFixture : IDisposable
{
    /// <summary>
    /// Accelerator of the main tier: "opencl" unless MODULAR_ROCM_ACCELERATOR names another (cuda on an NVIDIA
    /// machine runs the whole suite through ILGPU's CUDA runtime).
    /// </summary>
    public static string MainAccelerator { get; } =
        Environment.GetEnvironmentVariable("MODULAR_ROCM_ACCELERATOR") is { Length: > 0 } a ? a.Trim() : "opencl";

    private readonly Lazy<(IBackend? Backend, string? Why)> _openCl = new(() => Open(MainAccelerator));
    private readonly Lazy<(IBackend? Backend, string? Why)> _simulator = new(() => Open("cpu"));

    /// <summary>The float32 reference.</summary>
    public CpuBackend Cpu { get; } = new(2);

    /// <summary>The OpenCL backend (or <see cref="MainAccelerator"/>'s); skips the calling test, with the reason, when this machine has none.</summary>
    public IBackend OpenCL => Get(_openCl, MainAccelerator);

    /// <summary>The backend on ILGPU's CPU accelerator (always available).</summary>
    public IBackend Simulator => Get(_simulator, "cpu");

    /// <summary>The backend for a tier name ("opencl" or "cpu").</summary>
    public IBackend Tier(string name) => name == "opencl" ? OpenCL : Simulator;

    private static IBackend Get(Lazy<(IBackend? Backend, string? Why)> lazy, string name)
    {
        var (b, why) = lazy.Value;
        Assert.SkipWhen(b is null, $"rocm backend with accelerator={name} is not available here: {why}");
        return b!;
    }

    private static (IBackend?, string?) Open(string accelerator)
    {
        try
        {
            var provider = new RocmBackendProvider();
            var settings = new Dictionary<string, string> { [RocmBackendProvider.AcceleratorSetting] = accelerator };
            return (provider.Create(new BackendOptions(Settings: settings)), null);
        }
        catch (Exception e)
        {
            var hint = accelerator == "opencl" ? " (install an OpenCL runtime: apt-get install ocl-icd-libopencl1 pocl-opencl-icd)" : "";
            return (null, $"{e.GetType().Name}: {e.Message}{hint}");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_openCl.IsValueCreated) _openCl.Value.Backend?.Dispose();
        if (_simulator.IsValueCreated) _simulator.Value.Backend?.Dispose();
        Cpu.Dispose();
    }
}
