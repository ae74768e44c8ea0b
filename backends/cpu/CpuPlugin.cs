using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Backends.Cpu;

/// <summary>Plugin entry: the CPU backend runs everywhere, so it probes low (any accelerator wins "auto").</summary>
public sealed class CpuPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "cpu";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => $"{Environment.ProcessorCount} cores";
    /// <inheritdoc />
    public double Probe() => 1;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider, CpuBackendProvider>();
}

/// <summary>Creates <see cref="CpuBackend"/> instances.</summary>
public sealed class CpuBackendProvider : IBackendProvider
{
    /// <inheritdoc />
    public string Name => "cpu";
    /// <inheritdoc />
    public IBackend Create(BackendOptions options) => new CpuBackend(options.Threads);
}
