using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.TestPlugins.Common;

namespace Modular.TestPlugins.Alpha;

/// <summary>Backend "alpha"; registers its router itself and leaves <see cref="AlphaFifoPolicy"/> to the host's scan.</summary>
public sealed class AlphaPlugin() : ScoredBackendPlugin("alpha")
{
    /// <inheritdoc />
    public override void Register(IServiceCollection services, IConfiguration configuration)
    {
        base.Register(services, configuration);
        services.AddSingleton<IRouter, AlphaRouter>();
    }
}
