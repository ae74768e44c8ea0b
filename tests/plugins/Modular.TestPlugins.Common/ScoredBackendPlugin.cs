using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.TestPlugins.Common;

/// <summary>
/// Base of the fake backend plugins. Its probe score comes from the <c>score</c> setting (default 1) so tests can
/// steer "auto" selection; <c>probeThrows: true</c> makes <see cref="Probe"/> throw to test the host's guard.
/// </summary>
public abstract class ScoredBackendPlugin(string name) : IPlugin
{
    private double _score = 1;
    private bool _throws;
    private string _source = "default";

    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public virtual int ContractVersion => Modular.Abstractions.ContractVersion.Major;

    /// <inheritdoc />
    public string ProbeDetail => $"{name}: score {_score.ToString(CultureInfo.InvariantCulture)} from {_source}";

    /// <inheritdoc />
    public double Probe() => _throws ? throw new InvalidOperationException($"{name} probe exploded") : _score;

    /// <inheritdoc />
    public virtual void Register(IServiceCollection services, IConfiguration configuration)
    {
        if (configuration["score"] is { } text)
        {
            _score = double.Parse(text, CultureInfo.InvariantCulture);
            _source = "settings";
        }
        _throws = string.Equals(configuration["probeThrows"], "true", StringComparison.OrdinalIgnoreCase);
        services.AddSingleton<IBackendProvider>(new FakeBackendProvider(name));
    }
}
