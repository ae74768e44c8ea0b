using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Modular.Server.Http;

namespace Modular.Server.Routing;

/// <summary>
/// GET /v1/models of the front end: the routed aliases first, then every model the available targets list (asked
/// in parallel, each within the health timeout; a target that does not answer is left out), each once.
/// </summary>
internal sealed class RouterModelsEndpoint(IReadOnlyList<ForwardTarget> targets, IReadOnlyList<string> aliases, IHttpClientFactory clients, RouterFrontEndOptions options)
{
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public async Task HandleAsync(HttpContext context)
    {
        var lists = new Task<JsonElement[]>[targets.Count];
        for (int i = 0; i < lists.Length; i++) lists[i] = ListAsync(targets[i], context.RequestAborted);
        await Task.WhenAll(lists).ConfigureAwait(false);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var alias in aliases)
            {
                if (!seen.Add(alias)) continue;
                w.WriteStartObject();
                w.WriteString("id", alias);
                w.WriteString("object", "model");
                w.WriteNumber("created", _created);
                w.WriteString("owned_by", "modular-router");
                w.WriteEndObject();
            }
            for (int i = 0; i < lists.Length; i++)
            {
                foreach (var m in lists[i].Result)
                {
                    if (!m.TryGetProperty("id", out var id) || id.GetString() is not { } name || !seen.Add(name)) continue;
                    m.WriteTo(w);
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task<JsonElement[]> ListAsync(ForwardTarget target, CancellationToken cancellationToken)
    {
        if (!target.Available) return [];
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(options.HealthTimeout * 2);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target.BaseUri, "v1/models"));
            if (target.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await clients.CreateClient(RouterResilience.ProbeClient).SendAsync(request, cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return [];
            using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false));
            if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array) return [];
            var list = new List<JsonElement>();
            foreach (var m in data.EnumerateArray()) if (m.ValueKind == JsonValueKind.Object) list.Add(m.Clone());
            return [.. list];
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return [];
        }
    }
}
