using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// The plugin's entry point. The host finds this class because it is the assembly's only public, non-abstract
/// <see cref="IPlugin"/> with a parameterless constructor; <see cref="Register"/> then adds the backend provider.
/// </summary>
public sealed class ScalarPlugin : IPlugin
{
    /// <summary>The name plugins.json, <c>--backend</c> and conformance reports use.</summary>
    public const string PluginName = "scalar-sample";

    /// <inheritdoc />
    public string Name => PluginName;

    /// <summary>
    /// The contracts' major version this assembly was compiled against. Reading the constant here bakes the value in
    /// at build time, which is exactly what the host compares with its own <see cref="Modular.Abstractions.ContractVersion.Major"/>.
    /// </summary>
    public int ContractVersion => Modular.Abstractions.ContractVersion.Major;

    /// <summary>
    /// Managed code runs everywhere, but this backend is slow, so it scores below the CPU backend (1): "auto" never
    /// picks it, asking for it by name does. A real device backend returns 0 here when it finds no device or driver.
    /// </summary>
    public double Probe() => 0.5;

    /// <inheritdoc />
    public string ProbeDetail => "managed scalar float32 code (a sample: correct, not fast)";

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IBackendProvider, ScalarProvider>();
}

/// <summary>Opens <see cref="ScalarDevice"/>s. A backend plugin registers exactly one provider, named like the plugin.</summary>
public sealed class ScalarProvider : IBackendProvider
{
    /// <inheritdoc />
    public string Name => ScalarPlugin.PluginName;

    /// <summary>
    /// Creates the device. Settings come from <c>--settings key=value</c> or MODULAR_BACKEND_SETTINGS; this sample
    /// knows none and refuses unknown keys, so a typo in a setting is an error rather than silently ignored.
    /// </summary>
    public IBackend Create(BackendOptions options)
    {
        if (options.Settings is { Count: > 0 } settings)
            throw new ArgumentException(
                $"backend '{Name}' has no settings, but was given: {string.Join(", ", settings.Keys)}", nameof(options));
        return new ScalarDevice();
    }
}
