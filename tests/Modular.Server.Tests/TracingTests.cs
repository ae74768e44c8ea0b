using System.Collections.Concurrent;
using System.Diagnostics;
using Modular.Server.Observability;

namespace Modular.Server.Tests;

/// <summary>Request spans with queued/prefill/decode children and token counts (what the OTLP exporter ships).</summary>
public sealed class TracingTests(ServerFixture server)
{
    [Fact]
    public async Task A_request_produces_phase_spans_with_token_counts()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RequestTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        using var req = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = Api.Json(new { messages = new[] { new { role = "user", content = "Speak, speak." } }, max_tokens = 6, ignore_eos = true }),
        };
        req.Headers.Add("x-request-id", "span-test-1");
        using var r = await server.Http.SendAsync(req, TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)r.StatusCode);

        // The request span ends after the response is written, which can be just after the client has it.
        static bool IsRoot(Activity a) => a.OperationName == "chat.completions" && (string?)a.GetTagItem("gen_ai.request.id") == "span-test-1";
        for (int i = 0; i < 50 && !spans.Any(IsRoot); i++) await Task.Delay(100, TestContext.Current.CancellationToken);
        var root = Assert.Single(spans, IsRoot);
        Assert.Equal(17, root.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(6, root.GetTagItem("gen_ai.usage.output_tokens"));
        var children = spans.Where(a => a.ParentSpanId == root.SpanId).ToDictionary(a => a.OperationName);
        Assert.Equal(["decode", "prefill", "queued"], children.Keys.Order());
        Assert.Equal(6, children["decode"].GetTagItem("gen_ai.usage.output_tokens"));
        Assert.True(children["queued"].StartTimeUtc <= children["prefill"].StartTimeUtc);
        Assert.True(children["prefill"].StartTimeUtc + children["prefill"].Duration <= children["decode"].StartTimeUtc + children["decode"].Duration);
    }
}
