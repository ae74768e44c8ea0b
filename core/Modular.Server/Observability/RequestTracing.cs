using System.Diagnostics;

namespace Modular.Server.Observability;

/// <summary>
/// OpenTelemetry spans of a request. The request span covers the HTTP exchange; when it ends, child spans are
/// added with the times the engine reported: <c>queued</c> (HTTP arrival until the engine accepted the request:
/// parsing, templating, tokenization, admission), <c>prefill</c> (engine arrival to first token, which includes
/// waiting for a slot in the batch: the engine reports no separate scheduling time) and <c>decode</c> (first token to
/// finish). Spans cost nothing unless a listener (the OTLP exporter) is attached.
/// </summary>
public static class RequestTracing
{
    /// <summary>Source name to subscribe to.</summary>
    public const string SourceName = "Modular.Server";

    /// <summary>The activity source.</summary>
    public static readonly ActivitySource Source = new(SourceName, typeof(RequestTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Starts the request span (null when nobody listens).</summary>
    public static Activity? StartRequest(string operation, string requestId, string model)
    {
        var a = Source.StartActivity(operation, ActivityKind.Server);
        if (a is null) return null;
        a.SetTag("gen_ai.request.id", requestId);
        a.SetTag("gen_ai.request.model", model);
        a.SetTag("gen_ai.system", "modular");
        return a;
    }

    /// <summary>Adds the phase spans under <paramref name="parent"/> and its token counts.</summary>
    public static void Finish(Activity? parent, RequestRecord r)
    {
        if (parent is null) return;
        parent.SetTag("gen_ai.usage.input_tokens", r.PromptTokens);
        parent.SetTag("gen_ai.usage.output_tokens", r.CompletionTokens);
        parent.SetTag("gen_ai.usage.cached_input_tokens", r.CachedTokens);
        if (r.FinishReason is { } reason) parent.SetTag("gen_ai.response.finish_reasons", reason);
        var ctx = parent.Context;
        if (r.EngineArrival is DateTimeOffset engineArrival)
        {
            Span("queued", ctx, r.HttpArrival, engineArrival, null);
            if (r.FirstToken is DateTimeOffset first)
            {
                Span("prefill", ctx, engineArrival, first, ("gen_ai.usage.input_tokens", r.PromptTokens));
                Span("decode", ctx, first, r.Finished ?? DateTimeOffset.UtcNow, ("gen_ai.usage.output_tokens", r.CompletionTokens));
            }
        }
    }

    private static void Span(string name, ActivityContext parent, DateTimeOffset start, DateTimeOffset end, (string, int)? tag)
    {
        using var a = Source.StartActivity(name, ActivityKind.Internal, parent, startTime: start);
        if (a is null) return;
        if (tag is var (k, v)) a.SetTag(k, v);
        a.SetEndTime(end.UtcDateTime);
    }
}
