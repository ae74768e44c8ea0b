using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Abstractions;
using Modular.Server.Http;
using Polly;

// The web SDK imports Microsoft.AspNetCore.Routing, which has an IRouter of its own.
using IRouter = Modular.Abstractions.IRouter;

namespace Modular.Server.Routing;

/// <summary>
/// Forwards one OpenAI request: asks the router for a target (or takes the target serving the named model),
/// sends the body with the model rewritten, and answers with the target's response. Each attempt runs inside the
/// failover pipeline (Polly's retry, see <see cref="RouterResilience"/>) and through the target's own HTTP client
/// (its circuit breaker and attempt timeout). A target that fails before anything reached the client - refused
/// connection, timeout, open or isolated circuit, 5xx/408/429, a non-streamed body cut short, a stream that dies
/// before its first event - is excluded and Polly retries on another one, up to
/// <see cref="RouterFrontEndOptions.MaxAttempts"/> attempts. Once a streamed event has reached the client nothing is
/// retried: a target dying then ends the client's stream with an OpenAI error event and <c>[DONE]</c>.
/// </summary>
internal sealed class RouteForwarder(IRouter router, IReadOnlyList<ForwardTarget> targets, IHttpClientFactory clients,
    ResiliencePipeline<TargetReply> failover, RouterMetrics metrics, ILogger logger, long maxBodyBytes)
{
    /// <summary>Response header naming the target that answered.</summary>
    public const string RoutedToHeader = "x-modular-routed-to";

    /// <summary>Same value as the router plugin's <c>RuleRouter.ExcludeHeader</c> (the plugin is loaded in its own context, so the constant cannot be shared).</summary>
    private const string ExcludeHeader = "x-modular-exclude";

    /// <summary>One request's way through the failover pipeline: what was tried and how it failed.</summary>
    private sealed class Attempts(string path, RoutedRequest request, List<ForwardTarget>? direct, int targetCount)
    {
        public string Path { get; } = path;
        public RoutedRequest Request { get; } = request;
        /// <summary>Targets serving the requested model by name; null when the router chooses.</summary>
        public List<ForwardTarget>? Direct { get; } = direct;
        public List<ForwardTarget> Tried { get; } = new(targetCount);
        public List<string> Errors { get; } = [];
        /// <summary>The latest attempt's error answer, passed on when no target does better; null when the latest attempt failed otherwise.</summary>
        public TargetReply? LastErrorReply { get; set; }
    }

    public async Task ForwardAsync(HttpContext context, string path)
    {
        var ct = context.RequestAborted;
        var request = RoutedRequest.Parse(await ReadBodyAsync(context).ConfigureAwait(false));
        var attempts = new Attempts(path, request, router.Handles(request.Model) ? null : ServingTargets(request.Model), targets.Count);

        var resilienceContext = ResilienceContextPool.Shared.Get(ct);
        Outcome<TargetReply> outcome;
        try
        {
            outcome = await failover.ExecuteOutcomeAsync(static (c, s) => s.Self.AttemptAsync(s.Attempts, c.CancellationToken),
                resilienceContext, (Self: this, Attempts: attempts)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilienceContext);
        }
        if (outcome.Exception is { } e && (ct.IsCancellationRequested || !RouterResilience.IsAttemptFailure(e)))
            outcome.ThrowIfException(); // the client left, or a bug

        using var reply = outcome.Result;
        if (reply is { Target: { } target } && !reply.IsRetryableError)
        {
            await SendReplyAsync(context, target, reply).ConfigureAwait(false);
            return;
        }

        metrics.Unroutable();
        if (attempts.LastErrorReply is { Target: { } from, Body: { } body } last)
        {
            // Every target answered with an error (or was out of reach): pass the last answer on, as the target phrased it.
            context.Response.StatusCode = last.Status;
            context.Response.ContentType = last.ContentType ?? "application/json";
            context.Response.Headers[RoutedToHeader] = from.Name;
            await context.Response.Body.WriteAsync(body, ct).ConfigureAwait(false);
            return;
        }
        throw new ApiException(503, attempts.Errors.Count == 0
            ? $"no target can serve model '{request.Model}'"
            : $"no target could answer ({string.Join("; ", attempts.Errors)})", code: "no_target_available") { RetryAfterSeconds = 1 };
    }

    /// <summary>
    /// One attempt, the failover pipeline's callback: picks an untried target and asks it, up to the first byte that
    /// could be sent on. Never throws (Polly's outcome API wants exceptions as outcomes); the retry's predicate
    /// decides which failures send the request to another target.
    /// </summary>
    private async ValueTask<Outcome<TargetReply>> AttemptAsync(Attempts attempts, CancellationToken ct)
    {
        ForwardTarget? target = null;
        try
        {
            string reason;
            (target, reason) = attempts.Direct is null
                ? await ChooseRoutedAsync(attempts.Request, attempts.Tried, ct).ConfigureAwait(false)
                : ChooseDirect(attempts.Direct, attempts.Tried);
            if (target is null) return Outcome.FromResult(TargetReply.None); // not a failure: ends the retries

            int attempt = attempts.Tried.Count;
            if (attempt > 0) metrics.Retried();
            attempts.Tried.Add(target);
            logger.LogInformation("route {Path} model={Model} -> {Target}: {Reason}{Retry}", attempts.Path, attempts.Request.Model, target.Name, reason,
                attempt > 0 ? $" (attempt {attempt + 1}, after {attempts.Errors[^1]})" : "");

            TargetReply reply;
            using (metrics.Running(target.Name))
                reply = await SendAsync(target, attempts.Request, attempts.Path, ct).ConfigureAwait(false);
            attempts.LastErrorReply = reply.IsRetryableError ? reply : null;
            if (reply.IsRetryableError) Failed(attempts, target, $"answered {reply.Status}");
            return Outcome.FromResult(reply);
        }
        catch (Exception e)
        {
            if (target is not null && !ct.IsCancellationRequested && RouterResilience.IsAttemptFailure(e))
            {
                attempts.LastErrorReply = null;
                Failed(attempts, target, RouterResilience.Describe(e, target));
            }
            return Outcome.FromException<TargetReply>(e);
        }
    }

    private void Failed(Attempts attempts, ForwardTarget target, string error)
    {
        metrics.AttemptFailed(target.Name);
        attempts.Errors.Add($"{target.Name}: {error}");
        logger.LogWarning("target {Target} failed for {Path}: {Error}", target.Name, attempts.Path, error);
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

    /// <summary>
    /// An untried target, available ones first. An unavailable one is still tried last: its open or isolated circuit
    /// refuses at once without touching the network, and the refusal names why in the 503 the client gets.
    /// </summary>
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

    /// <summary>
    /// Sends the request through the target's client (breaker, attempt timeout) and reads on until something could
    /// be passed to the client: the whole body, or a stream's first whole event. Each read after the headers gets
    /// the target's timeout again.
    /// </summary>
    private async Task<TargetReply> SendAsync(ForwardTarget target, RoutedRequest request, string path, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
        {
            Content = new ByteArrayContent(request.BodyFor(router.Handles(request.Model) ? target.Model ?? target.Name : null)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var http = clients.CreateClient(target.ClientName);
        var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        Stream? upstream = null;
        try
        {
            using var read = CancellationTokenSource.CreateLinkedTokenSource(ct);
            read.CancelAfter(target.Timeout);
            if (request.Stream && response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                // Until the first whole event has arrived nothing is sent, so the request can still go elsewhere.
                upstream = await response.Content.ReadAsStreamAsync(read.Token).ConfigureAwait(false);
                var relay = new SseRelay();
                var buffer = new byte[16 * 1024];
                int n;
                do
                {
                    read.CancelAfter(target.Timeout);
                    n = await upstream.ReadAsync(buffer, read.Token).ConfigureAwait(false);
                    relay.Append(buffer.AsSpan(0, n));
                } while (n > 0 && !relay.HasCompleteEvent);
                if (!relay.HasCompleteEvent) throw new IOException("the stream ended before its first event");
                return TargetReply.Streaming(target, response, upstream, relay);
            }

            // Buffered in full before anything is sent, so a target dying mid-body can still be retried.
            var body = await response.Content.ReadAsByteArrayAsync(read.Token).ConfigureAwait(false);
            var reply = TargetReply.Buffered(target, response, body);
            response.Dispose();
            return reply;
        }
        catch (Exception e)
        {
            upstream?.Dispose();
            response.Dispose();
            if (e is OperationCanceledException && !ct.IsCancellationRequested)
                throw new TimeoutException($"no data within {target.Timeout.TotalSeconds:0.#} s after the response headers", e);
            throw;
        }
    }

    /// <summary>Sends a successful attempt's answer to the client; a stream is relayed to its end, never retried.</summary>
    private async Task SendReplyAsync(HttpContext context, ForwardTarget target, TargetReply reply)
    {
        var clientGone = context.RequestAborted;
        metrics.Routed(target.Name);
        WriteHead(context, target, reply);
        if (reply.Body is { } body)
        {
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, clientGone).ConfigureAwait(false);
            return;
        }

        using var running = metrics.Running(target.Name);
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var client = context.Response.Body;
        var upstream = reply.Upstream!;
        var relay = reply.Relay!;
        var buffer = new byte[16 * 1024];
        using var read = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
        string? failure = null;
        try
        {
            await relay.FlushCompleteAsync(client, clientGone).ConfigureAwait(false);
            while (true)
            {
                read.CancelAfter(target.Timeout);
                int n = await upstream.ReadAsync(buffer, read.Token).ConfigureAwait(false);
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
        if (failure is null) return;

        // Past the first event: no retry. The breaker does not hear of it either (Polly takes outcomes only from the
        // attempt it wraps); a target that died is taken out by its failing health probe.
        metrics.StreamBroken(target.Name);
        logger.LogWarning("stream from {Target} broke off: {Error}; ending the client's stream with an error event", target.Name, failure);
        var error = ApiErrors.Body($"target {target.Name} failed mid-stream: {failure}", "server_error", null, "upstream_stream_broken");
        await client.WriteAsync("data: "u8.ToArray(), clientGone).ConfigureAwait(false);
        await client.WriteAsync(error, clientGone).ConfigureAwait(false);
        await client.WriteAsync("\n\ndata: [DONE]\n\n"u8.ToArray(), clientGone).ConfigureAwait(false);
        await client.FlushAsync(clientGone).ConfigureAwait(false);
    }

    private static void WriteHead(HttpContext context, ForwardTarget target, TargetReply reply)
    {
        var r = context.Response;
        r.StatusCode = reply.Status;
        if (reply.ContentType is not null) r.ContentType = reply.ContentType;
        r.Headers[RoutedToHeader] = target.Name;
        if (reply.RequestId is { } id) r.Headers["x-request-id"] = id;
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var limit = maxBodyBytes;
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
