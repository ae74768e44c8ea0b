using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.Backends.Rocm.Device;

namespace Modular.Backends.Rocm;

/// <summary>
/// Plugin entry of the ILGPU backend. Probe: 2 with an OpenCL GPU (above cpu's 1), 0.5 when only an OpenCL CPU
/// device (pocl) or ILGPU's CPU simulator exists (below cpu), 0 when ILGPU cannot start at all.
/// </summary>
public sealed class RocmPlugin : IPlugin
{
    private string _detail = "not probed yet";

    /// <inheritdoc />
    public string Name => "rocm";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => _detail;

    /// <inheritdoc />
    public double Probe()
    {
        var (score, detail) = DeviceSelector.Probe();
        _detail = detail;
        return score;
    }

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider, RocmBackendProvider>();
}

/// <summary>
/// Creates <see cref="RocmBackend"/> instances. Settings: <c>accelerator</c> = auto (OpenCL GPU, then any OpenCL
/// device, then ILGPU's CPU simulator), opencl, cuda or cpu; <see cref="BackendOptions.DeviceIndex"/> picks among
/// the devices of that kind; <c>gemv</c> = auto, group or warp picks the decode GEMV (see <see cref="GemvSelection"/>).
/// </summary>
public sealed class RocmBackendProvider : IBackendProvider
{
    /// <summary>Settings key choosing the runtime: auto, opencl, cuda or cpu.</summary>
    public const string AcceleratorSetting = DeviceSelector.AcceleratorSetting;

    /// <summary>Settings key choosing the decode GEMV: auto, group or warp.</summary>
    public const string GemvSetting = GemvSelection.Setting;

    /// <inheritdoc />
    public string Name => "rocm";
    /// <inheritdoc />
    public IBackend Create(BackendOptions options) => new RocmBackend(options);
}
