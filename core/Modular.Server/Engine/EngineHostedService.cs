using Microsoft.Extensions.Hosting;

namespace Modular.Server.Engine;

/// <summary>
/// Runs one model's engine for the lifetime of the host. Registered before the web server, so it starts first and
/// stops last: Kestrel has drained the running requests by the time the engine stops.
/// </summary>
internal sealed class EngineHostedService(ServedModel model) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => model.Engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => model.Engine.StopAsync(cancellationToken);
}
