using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>The "cuda" plugin: probes for an NVIDIA GPU with the driver, NVRTC and cuBLAS, and registers the backend.</summary>
public sealed class CudaPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "cuda";

    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;

    /// <inheritdoc />
    public string ProbeDetail { get; private set; } = "not probed";

    /// <summary>Score when a usable device is present: above any CPU backend.</summary>
    public const double DeviceScore = 100;

    /// <inheritdoc />
    public double Probe()
    {
        var (ok, detail) = CudaProbe.Run();
        ProbeDetail = detail;
        return ok ? DeviceScore : 0;
    }

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider, CudaBackendProvider>();
}

/// <summary>Creates <see cref="CudaBackend"/>s.</summary>
public sealed class CudaBackendProvider : IBackendProvider
{
    /// <inheritdoc />
    public string Name => "cuda";

    /// <inheritdoc />
    public IBackend Create(BackendOptions options)
    {
        var (ok, detail) = CudaProbe.Run();
        if (!ok) throw new InvalidOperationException($"cuda backend unavailable: {detail}");
        return new CudaBackend(options);
    }
}

/// <summary>Checks, without throwing, that the driver loads, a device exists, and NVRTC and cuBLAS load.</summary>
public static unsafe class CudaProbe
{
    /// <summary>(usable, what was found or why not).</summary>
    public static (bool Ok, string Detail) Run()
    {
        try
        {
            NativeLibraries.EnsureResolver();
            if (!NativeLibraries.TryLoad(NativeLibraries.Driver, out _, out var why))
                return (false, $"CUDA driver not found: {why}");
            int r = CudaDriver.cuInit(0);
            if (r != 0) return (false, $"cuInit failed: {CudaCheck.DriverErrorName(r)} ({r})");
            int count;
            r = CudaDriver.cuDeviceGetCount(&count);
            if (r != 0) return (false, $"cuDeviceGetCount failed: {CudaCheck.DriverErrorName(r)} ({r})");
            if (count == 0) return (false, "CUDA driver loaded but no CUDA device is visible");
            if (!NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out _, out why)) return (false, $"NVRTC not found: {why}");
            if (!NativeLibraries.TryLoad(NativeLibraries.Cublas, out _, out why)) return (false, $"cuBLAS not found: {why}");
            int device, version;
            CudaCheck.Driver(CudaDriver.cuDeviceGet(&device, 0), "cuDeviceGet(0)");
            CudaCheck.Driver(CudaDriver.cuDriverGetVersion(&version), "cuDriverGetVersion");
            byte* name = stackalloc byte[256];
            CudaCheck.Driver(CudaDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
            var deviceName = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)name);
            return (true, $"{count} CUDA device(s); device 0: {deviceName}; driver CUDA {version / 1000}.{version % 1000 / 10}");
        }
        catch (Exception e)
        {
            return (false, $"CUDA probe failed: {e.Message}");
        }
    }
}
