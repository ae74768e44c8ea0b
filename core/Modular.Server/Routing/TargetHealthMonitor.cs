using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Modular.Server.Routing;

/// <summary>
/// Probes every target's <c>/health</c> on an interval and feeds the result to the target's Polly circuit through
/// its manual control: a failed probe isolates the circuit (every request to the target is then refused at once and
/// goes to another one), a passing probe closes a circuit it had isolated. A circuit the breaker opened on its own is
/// left to its break. Also learns the model of targets whose settings name none from their <c>/v1/models</c>. The
/// first round runs before the front end starts listening, so that requests never go to a target that was down
/// from the start.
/// </summary>
internal sealed class TargetHealthMonitor(IReadOnlyList<ForwardTarget> targets, IHttpClientFactory clients, RouterFrontEndOptions options, ILogger logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await CheckAllAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HealthInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                await CheckAllAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private Task CheckAllAsync(CancellationToken cancellationToken)
    {
        var checks = new Task[targets.Count];
        for (int i = 0; i < checks.Length; i++) checks[i] = CheckAsync(targets[i], cancellationToken);
        return Task.WhenAll(checks);
    }

    private async Task CheckAsync(ForwardTarget target, CancellationToken cancellationToken)
    {
        string? failure = null;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(options.HealthTimeout);
            using var response = await SendAsync(target, "health", cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) failure = $"/health answered {(int)response.StatusCode}";
            else if (target.Model is null) target.Model = await FirstModelAsync(target, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException
                                   || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            failure = e is OperationCanceledException ? $"/health did not answer within {options.HealthTimeout.TotalMilliseconds:0} ms" : e.Message;
        }
        if (cancellationToken.IsCancellationRequested) return;
        if (failure is null)
        {
            if (await target.Circuit.CloseIfIsolatedAsync(cancellationToken).ConfigureAwait(false))
                logger.LogInformation("target {Target} is up (model {Model})", target.Name, target.Model);
        }
        else
        {
            if (await target.Circuit.IsolateAsync(failure, cancellationToken).ConfigureAwait(false))
                logger.LogWarning("target {Target} is down: {Reason}", target.Name, failure);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(ForwardTarget target, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target.BaseUri, path));
        if (target.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await clients.CreateClient(RouterResilience.ProbeClient).SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> FirstModelAsync(ForwardTarget target, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(target, "v1/models", cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) return null;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        if (doc.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            foreach (var m in data.EnumerateArray())
                if (m.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String) return id.GetString();
        return null;
    }
}
