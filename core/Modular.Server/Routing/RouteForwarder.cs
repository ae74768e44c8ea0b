using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Abstractions;
using Modular.Server.Http;

// The web SDK imports Microsoft.AspNetCore.Routing, which has an IRouter of its own.
using IRouter = Modular.Abstractions.IRouter;

namespace Modular.Server.Routing;

/// <summary>
/// Forwards one OpenAI request: asks the router for a target (or takes the target serving the named model),
/// sends the body with the model rewritten, and answers with the target's response. A target that fails before
/// anything reached the client - refused connection, timeout, 5xx/429, a non-streamed body cut short, a stream
/// that dies before its first event - is excluded and the request goes to another one, up to
/// <see cref="RouterFrontEndOptions.MaxAttempts"/>. Once a streamed event has reached the client nothing is
/// retried: a target dying then ends the client's stream with an OpenAI error event and <c>[DONE]</c>.
/// </summary>
internal sealed class RouteForwarder(IRouter router, IReadOnlyList<ForwardTarget> targets, HttpClient http, RouterMetrics metrics,
    RouterFrontEndOptions options, ILogger logger)
{
    /// <summary>Response header naming the target that answered.</summary>
    public const string RoutedToHeader = "x-modular-routed-to";

    /// <summary>Same value as the router plugin's <c>RuleRouter.ExcludeHeader</c> (the plugin is loaded in its own context, so the constant cannot be shared).</summary>
    private const string ExcludeHeader = "x-modular-exclude";

    private readonly record struct Outcome(bool Done, string? Error, int Status = 0, byte[]? Body = null, string? ContentType = null);

    public async Task ForwardAsync(HttpContext context, string path)
    {
        var ct = context.RequestAborted;
        var request = RoutedRequest.Parse(await ReadBodyAsync(context).ConfigureAwait(false));
        bool routed = router.Handles(request.Model);
        var direct = routed ? null : ServingTargets(request.Model);

        var tried = new List<ForwardTarget>(targets.Count);
        var errors = new List<string>();
        Outcome last = default;
        for (int attempt = 0; attempt < options.MaxAttempts; attempt++)
        {
            var (target, reason) = routed ? await ChooseRoutedAsync(request, tried, ct).ConfigureAwait(false) : ChooseDirect(direct!, tried);
            if (target is null) break;
            if (attempt > 0) metrics.Retried();
            tried.Add(target);
            logger.LogInformation("route {Path} model={Model} -> {Target}: {Reason}{Retry}", path, request.Model, target.Name, reason,
                attempt > 0 ? $" (attempt {attempt + 1}, after {errors[^1]})" : "");

            last = await TryTargetAsync(context, target, request, path).ConfigureAwait(false);
            if (last.Done) return;
            metrics.AttemptFailed(target.Name);
            errors.Add($"{target.Name}: {last.Error}");
            logger.LogWarning("target {Target} failed for {Path}: {Error}", target.Name, path, last.Error);
        }

        metrics.Unroutable();
        if (last.Body is not null && last.Status is >= 400 and < 600)
        {
            // Every target answered with an error: pass the last one on, as the target phrased it.
            context.Response.StatusCode = last.Status;
            context.Response.ContentType = last.ContentType ?? "application/json";
            context.Response.Headers[RoutedToHeader] = tried[^1].Name;
            await context.Response.Body.WriteAsync(last.Body, ct).ConfigureAwait(false);
            return;
        }
        throw new ApiException(503, errors.Count == 0
            ? $"no target can serve model '{request.Model}'"
            : $"no target could answer ({string.Join("; ", errors)})", code: "no_target_available") { RetryAfterSeconds = 1 };
    }

    private List<ForwardTarget> ServingTargets(string model)
    {
        var list = new List<ForwardTarget>();
        foreach (var t in targets)
            if (string.Equals(t.Name, model, StringComparison.OrdinalIgnoreCase) || string.Equals(t.Model, model, StringComparison.Ordinal))
                list.Add(t);
        if (list.Count == 0)
            throw new ApiException(404, $"model '{model}' is not served here: ask for a routed alias or one of the targets' models (GET /v1/models lists them)",
                "model", "model_not_found");
        return list;
    }

    private async Task<(ForwardTarget? Target, string Reason)> ChooseRoutedAsync(RoutedRequest request, List<ForwardTarget> tried, CancellationToken ct)
    {
        var excluded = new List<string>();
        foreach (var t in targets)
            if (tried.Contains(t) || !t.Available) excluded.Add(t.Name);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (excluded.Count > 0) headers[ExcludeHeader] = string.Join(',', excluded);

        long start = Stopwatch.GetTimestamp();
        RouteDecision decision;
        try
        {
            decision = await router.RouteAsync(new RouteRequest(request.Model, request.Text, request.MessageCount, headers), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The contract says routers do not throw; one that does must not take the request down with it.
            logger.LogError(e, "router failed; falling back to the first available target");
            decision = new RouteDecision("", $"router threw {e.GetType().Name}");
        }
        metrics.Decided(Stopwatch.GetElapsedTime(start).TotalSeconds);

        var chosen = Find(decision.Target);
        if (chosen is not null && !tried.Contains(chosen)) return (chosen, decision.Reason);
        var fallback = FirstUntried(targets, tried);
        return (fallback, $"{decision.Reason}; {(chosen is null ? $"unknown target '{decision.Target}'" : $"{decision.Target} already tried")}, using {fallback?.Name}");
    }

    private static (ForwardTarget? Target, string Reason) ChooseDirect(List<ForwardTarget> serving, List<ForwardTarget> tried)
    {
        var t = FirstUntried(serving, tried);
        return (t, "serves the requested model");
    }

    /// <summary>An untried target, available ones first (an unavailable one may have recovered since its last check).</summary>
    private static ForwardTarget? FirstUntried(IReadOnlyList<ForwardTarget> from, List<ForwardTarget> tried)
    {
        ForwardTarget? down = null;
        foreach (var t in from)
        {
            if (tried.Contains(t)) continue;
            if (t.Available) return t;
            down ??= t;
        }
        return down;
    }

    private ForwardTarget? Find(string name)
    {
        foreach (var t in targets)
            if (string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase)) return t;
        return null;
    }

    private async Task<Outcome> TryTargetAsync(HttpContext context, ForwardTarget target, RoutedRequest request, string path)
    {
        var clientGone = context.RequestAborted;
        if (!target.Breaker.TryAcquire()) return new Outcome(false, "circuit breaker open");
        using var running = metrics.Running(target.Name);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
        cts.CancelAfter(target.Timeout);
        bool committed = false;
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUri, path.TrimStart('/')))
            {
                Content = new ByteArrayContent(request.BodyFor(router.Handles(request.Model) ? target.Model ?? target.Name : null)),
            };
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (target.ApiKey is { } key) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);

            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            var contentType = response.Content.Headers.ContentType?.ToString();
            if (status >= 500 || status is 408 or 429)
            {
                var errorBody = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
                if (status != 429) target.Breaker.Failure(); // 429 is a busy target, not a broken one
                else target.Breaker.Success();
                return new Outcome(false, $"answered {status}", status, errorBody, contentType);
            }

            if (!request.Stream || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                // Buffered in full before anything is sent, so a target dying mid-body can still be retried.
                var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
                target.Breaker.Success();
                committed = true;
                metrics.Routed(target.Name);
                WriteHead(context, target, response, status, contentType);
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body, clientGone).ConfigureAwait(false);
                return new Outcome(true, null);
            }

            return await RelayStreamAsync(context, target, response, cts, () => committed = true).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (clientGone.IsCancellationRequested)
        {
            target.Breaker.Abandon();
            throw;
        }
        catch (Exception e) when (!committed && e is HttpRequestException or IOException or OperationCanceledException)
        {
            target.Breaker.Failure();
            string what = e is OperationCanceledException ? $"no answer within {target.Timeout.TotalSeconds:0.#} s" : e.Message;
            if (e is not OperationCanceledException) target.MarkDown($"forward failed: {what}");
            return new Outcome(false, what);
        }
    }

    private async Task<Outcome> RelayStreamAsync(HttpContext context, ForwardTarget target, HttpResponseMessage response,
        CancellationTokenSource cts, Action commit)
    {
        var clientGone = context.RequestAborted;
        var relay = new SseRelay();
        var buffer = new byte[16 * 1024];
        await using var upstream = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);

        // Until the first whole event has arrived nothing is sent, so the request can still go elsewhere.
        int n;
        do
        {
            cts.CancelAfter(target.Timeout);
            n = await upstream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            relay.Append(buffer.AsSpan(0, n));
        } while (n > 0 && !relay.HasCompleteEvent);
        if (n == 0 && !relay.HasCompleteEvent)
            throw new IOException("the stream ended before its first event");

        commit();
        metrics.Routed(target.Name);
        WriteHead(context, target, response, 200, response.Content.Headers.ContentType?.ToString());
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var client = context.Response.Body;
        string? failure = null;
        try
        {
            await relay.FlushCompleteAsync(client, clientGone).ConfigureAwait(false);
            while (true)
            {
                cts.CancelAfter(target.Timeout);
                n = await upstream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                if (n == 0) break;
                relay.Append(buffer.AsSpan(0, n));
                await relay.FlushCompleteAsync(client, clientGone).ConfigureAwait(false);
            }
            await relay.FinishAsync(client, clientGone).ConfigureAwait(false);
            if (!relay.SawDone) failure = "the target closed the stream before [DONE]";
        }
        catch (Exception e) when (!clientGone.IsCancellationRequested && e is HttpRequestException or IOException or OperationCanceledException)
        {
            failure = e is OperationCanceledException ? $"no data for {target.Timeout.TotalSeconds:0.#} s" : e.Message;
        }

        if (failure is null)
        {
            target.Breaker.Success();
            return new Outcome(true, null);
        }
        target.Breaker.Failure();
        metrics.StreamBroken(target.Name);
        logger.LogWarning("stream from {Target} broke off: {Error}; ending the client's stream with an error event", target.Name, failure);
        var error = ApiErrors.Body($"target {target.Name} failed mid-stream: {failure}", "server_error", null, "upstream_stream_broken");
        await client.WriteAsync("data: "u8.ToArray(), clientGone).ConfigureAwait(false);
        await client.WriteAsync(error, clientGone).ConfigureAwait(false);
        await client.WriteAsync("\n\ndata: [DONE]\n\n"u8.ToArray(), clientGone).ConfigureAwait(false);
        await client.FlushAsync(clientGone).ConfigureAwait(false);
        return new Outcome(true, null);
    }

    private static void WriteHead(HttpContext context, ForwardTarget target, HttpResponseMessage response, int status, string? contentType)
    {
        var r = context.Response;
        r.StatusCode = status;
        if (contentType is not null) r.ContentType = contentType;
        r.Headers[RoutedToHeader] = target.Name;
        if (response.Headers.TryGetValues("x-request-id", out var ids)) r.Headers["x-request-id"] = string.Join(",", ids);
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var limit = options.MaxBodyBytes;
        if (context.Request.ContentLength > limit)
            throw new ApiException(413, $"request body of {context.Request.ContentLength} bytes exceeds the limit of {limit} bytes", code: "body_too_large");
        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > limit)
                throw new ApiException(413, $"request body exceeds the limit of {limit} bytes", code: "body_too_large");
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }
}
