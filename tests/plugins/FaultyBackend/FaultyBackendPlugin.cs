using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.Backends.Cpu;

namespace Modular.TestPlugins.FaultyBackend;

/// <summary>Plugin entry: backend "faulty", the CPU backend with injected faults. Probes 0 so "auto" never picks it.</summary>
public sealed class FaultyBackendPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "faulty";
    /// <inheritdoc />
    public int ContractVersion => Modular.Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => "fault injection for tests; select it by name";
    /// <inheritdoc />
    public double Probe() => 0;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider>(new FaultyBackendProvider(FaultSettings.Read(configuration)));
}

/// <summary>Creates <see cref="FaultyBackend"/>s over a fresh <see cref="CpuBackend"/>.</summary>
public sealed class FaultyBackendProvider(FaultSettings settings) : IBackendProvider
{
    /// <summary>The last backend created (tests read its counters).</summary>
    public static FaultyBackend? Last { get; private set; }

    /// <inheritdoc />
    public string Name => "faulty";

    /// <inheritdoc />
    public IBackend Create(BackendOptions options)
    {
        var backend = new FaultyBackend(new CpuBackend(settings.Threads ?? options.Threads), settings);
        Last = backend;
        return backend;
    }
}
