using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.TestPlugins.ContractV99;

/// <summary>Claims a contract major version from the future: the host must refuse it.</summary>
public sealed class FuturePlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "future";

    /// <inheritdoc />
    public int ContractVersion => 99;

    /// <inheritdoc />
    public string ProbeDetail => "from the future";

    /// <inheritdoc />
    public double Probe() => 100;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        throw new InvalidOperationException("a refused plugin must never be registered");
}
