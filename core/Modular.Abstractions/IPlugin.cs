using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Modular.Abstractions;

/// <summary>
/// Entry point of a plugin assembly. The host finds exactly one public, non-abstract implementation with a
/// parameterless constructor in each assembly listed in <c>plugins.json</c>.
/// </summary>
public interface IPlugin
{
    /// <summary>Unique name ("cpu", "cuda", "quant", ...). Backends are selected by this name.</summary>
    string Name { get; }

    /// <summary>The <see cref="Modular.Abstractions.ContractVersion.Major"/> the plugin was compiled against.</summary>
    int ContractVersion { get; }

    /// <summary>
    /// How well the plugin can run on this machine: 0 means it cannot (no device, missing driver); higher is better.
    /// <c>"backend": "auto"</c> picks the backend plugin with the highest non-zero score. Must not throw.
    /// </summary>
    double Probe();

    /// <summary>Human-readable reason for the last <see cref="Probe"/> result (device found, or why none).</summary>
    string ProbeDetail { get; }

    /// <summary>Registers the plugin's services (backends, quantizers, guided decoders, routers, policies).</summary>
    void Register(IServiceCollection services, IConfiguration configuration);
}
