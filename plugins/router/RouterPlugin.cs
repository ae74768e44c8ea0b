using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Plugins.Router;

/// <summary>
/// Plugin entry: registers a <see cref="RuleRouter"/> built from the plugins.json <c>settings</c> object (targets,
/// aliases such as <c>"auto"</c>, and an ordered list of intent, keyword, complexity and load rules; see
/// <see cref="RouterSettings"/> for the fields).
/// </summary>
public sealed class RouterPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "router";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => "request router; needs no device";
    /// <inheritdoc />
    public double Probe() => 1;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
        var settings = RouterSettings.Read(configuration);
        // Registered as an instance so the host's assembly scan sees the type as taken and does not add a second one.
        services.AddSingleton<IRouter>(new RuleRouter(settings));
    }
}
