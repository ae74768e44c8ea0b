using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.Backends.Cpu;

namespace Modular.TestPlugins.BrokenBackends;

/// <summary>
/// Plugin "broken": one backend whose single mistake is chosen by the <c>flaw</c> setting, from plugins.json
/// (<c>"settings": { "flaw": "rope" }</c>) or from the backend settings (<c>--settings flaw=rope</c>, which wins).
/// A plugin assembly has exactly one plugin name, so the variants broken-rope, broken-blocktable, ... are settings of
/// one plugin rather than separate plugins.
/// </summary>
public sealed class BrokenPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "broken";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <summary>Never chosen by "auto": only a test asks for it by name.</summary>
    public double Probe() => 0.01;
    /// <inheritdoc />
    public string ProbeDetail => "a deliberately broken test backend";

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider>(new BrokenBackendProvider(configuration["flaw"]));
}

/// <summary>Creates a <see cref="FlawedBackend"/> over a fresh CPU backend.</summary>
/// <param name="configuredFlaw">The plugins.json <c>settings.flaw</c>, or null.</param>
public sealed class BrokenBackendProvider(string? configuredFlaw) : IBackendProvider
{
    /// <inheritdoc />
    public string Name => "broken";

    /// <inheritdoc />
    public IBackend Create(BackendOptions options)
    {
        var fromOptions = options.Settings is { } s && s.TryGetValue("flaw", out var v) ? v : null;
        var flaw = fromOptions is not null
            ? Flaws.Parse(fromOptions, "backend setting 'flaw'")
            : Flaws.Parse(configuredFlaw, "plugins.json settings.flaw (or backend setting 'flaw')");
        return new FlawedBackend(new CpuBackend(options.Threads), flaw);
    }
}
