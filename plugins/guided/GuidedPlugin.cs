using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Plugins.Guided;

/// <summary>
/// Plugin entry: registers the guided (constrained) decoder. Configuration: <c>Guided:MaxWhitespace</c> (JSON
/// whitespace bytes allowed between tokens, default 0 = compact output).
/// </summary>
public sealed class GuidedPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "guided";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => "CPU-only constraint compiler; always available";
    /// <inheritdoc />
    public double Probe() => 1;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
        int ws = 0;
        var text = configuration["Guided:MaxWhitespace"];
        if (!string.IsNullOrEmpty(text) && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ws) || ws > 16))
            throw new InvalidOperationException($"Guided:MaxWhitespace must be an integer 0..16, not '{text}'");
        services.AddSingleton<IGuidedDecoder>(new GuidedDecoder(new GuidedOptions { MaxWhitespace = ws }));
    }
}
