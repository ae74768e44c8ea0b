using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.TestPlugins.AlphaTwin;

/// <summary>A different assembly that also calls itself "alpha": loading it beside alpha must fail.</summary>
public sealed class AlphaTwinPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "alpha";

    /// <inheritdoc />
    public int ContractVersion => Modular.Abstractions.ContractVersion.Major;

    /// <inheritdoc />
    public string ProbeDetail => "not a backend";

    /// <inheritdoc />
    public double Probe() => 0;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
    }
}
