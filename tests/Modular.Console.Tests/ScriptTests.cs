using System.Text.Json;

namespace Modular.Console.Tests;

/// <summary>
/// The page's own parsers run in Chromium on hand-made inputs with answers worked out by hand: the Prometheus text
/// parser and histogram quantile estimate, and the SSE reader over chunk boundaries that split lines and events.
/// </summary>
public sealed class ScriptTests(ConsoleServers servers)
{
    private const string Exposition = """
        # HELP modular:time_to_first_token_seconds Time to first token in seconds.
        # TYPE modular:time_to_first_token_seconds histogram
        modular:time_to_first_token_seconds_sum{model_name="a"} 10
        modular:time_to_first_token_seconds_count{model_name="a"} 30
        modular:time_to_first_token_seconds_bucket{model_name="a",le="0.1"} 5
        modular:time_to_first_token_seconds_bucket{model_name="a",le="0.5"} 20
        modular:time_to_first_token_seconds_bucket{model_name="a",le="1.0"} 30
        modular:time_to_first_token_seconds_bucket{model_name="a",le="+Inf"} 30
        modular:time_to_first_token_seconds_sum{model_name="b \"quoted\", x"} 5
        modular:time_to_first_token_seconds_count{model_name="b \"quoted\", x"} 10
        modular:time_to_first_token_seconds_bucket{model_name="b \"quoted\", x",le="0.1"} 5
        modular:time_to_first_token_seconds_bucket{model_name="b \"quoted\", x",le="0.5"} 10
        modular:time_to_first_token_seconds_bucket{model_name="b \"quoted\", x",le="1.0"} 10
        modular:time_to_first_token_seconds_bucket{model_name="b \"quoted\", x",le="+Inf"} 10
        # TYPE modular:generation_tokens_total counter
        modular:generation_tokens_total{model_name="a"} 1200
        modular:generation_tokens_total{model_name="b \"quoted\", x"} 34 1700000000000
        modular:num_requests_running{model_name="a"} 3
        process_weird NaN
        """;

    [Fact]
    public async Task Prometheus_parser_sums_series_and_estimates_quantiles_like_histogram_quantile()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        await b.Page.GotoAsync("/");
        var json = await b.Page.EvaluateAsync<JsonElement>("""
            async text => {
              const p = await import('/console/prometheus.js');
              const { samples } = p.parseExposition(text);
              const h = p.histogram(samples, 'modular:time_to_first_token_seconds');
              const label = samples.find(s => s.name.endsWith('_sum') && s.labels.model_name.startsWith('b')).labels.model_name;
              return {
                count: samples.length, label,
                gen: p.counterTotal(samples, 'modular:generation_tokens'),
                running: p.total(samples, 'modular:num_requests_running'),
                missing: p.total(samples, 'modular:nope'),
                hcount: h.count, hsum: h.sum, les: h.buckets.map(x => String(x.le)), cum: h.buckets.map(x => x.count),
                p25: p.histogramQuantile(0.25, h), p50: p.histogramQuantile(0.5, h), p90: p.histogramQuantile(0.9, h),
                p100: p.histogramQuantile(1, h),
                inInf: p.histogramQuantile(0.99, { buckets: [{ le: 0.5, count: 1 }, { le: Infinity, count: 10 }] }),
                empty: p.histogramQuantile(0.5, { buckets: [{ le: 1, count: 0 }, { le: Infinity, count: 0 }] }),
              };
            }
            """, Exposition);
        Assert.Equal(16, json.GetProperty("count").GetInt32());
        Assert.Equal("b \"quoted\", x", json.GetProperty("label").GetString());
        Assert.Equal(1234, json.GetProperty("gen").GetDouble());
        Assert.Equal(3, json.GetProperty("running").GetDouble());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("missing").ValueKind);
        Assert.Equal(40, json.GetProperty("hcount").GetDouble());
        Assert.Equal(15, json.GetProperty("hsum").GetDouble());
        Assert.Equal(["0.1", "0.5", "1", "Infinity"], json.GetProperty("les").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.Equal([10.0, 30, 40, 40], json.GetProperty("cum").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        // Summed buckets: (0,0.1]:10 (0.1,0.5]:20 (0.5,1]:10. Rank 10 of 40 ends the first bucket exactly.
        Assert.Equal(0.1, json.GetProperty("p25").GetDouble(), 9);
        // Rank 20: 10 below, 10 of 20 into (0.1,0.5] -> 0.1 + 0.4 * 0.5.
        Assert.Equal(0.3, json.GetProperty("p50").GetDouble(), 9);
        // Rank 36: 30 below, 6 of 10 into (0.5,1] -> 0.5 + 0.5 * 0.6.
        Assert.Equal(0.8, json.GetProperty("p90").GetDouble(), 9);
        Assert.Equal(1.0, json.GetProperty("p100").GetDouble(), 9);
        Assert.Equal(0.5, json.GetProperty("inInf").GetDouble(), 9); // +Inf bucket answers the highest finite bound
        Assert.Equal(JsonValueKind.Null, json.GetProperty("empty").ValueKind);
        b.AssertNoPageErrors();
    }

    [Fact]
    public async Task Prometheus_parser_names_the_bad_line()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        await b.Page.GotoAsync("/");
        string message = await b.Page.EvaluateAsync<string>("""
            async () => {
              const p = await import('/console/prometheus.js');
              try { p.parseExposition('ok 1\nbroken{le="1} 2\n'); return 'no error'; } catch (e) { return e.message; }
            }
            """);
        Assert.Contains("line 2", message);
    }

    [Fact]
    public async Task Sse_reader_reassembles_events_split_across_chunks()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        await b.Page.GotoAsync("/");
        var events = await b.Page.EvaluateAsync<string[]>("""
            async () => {
              const { readEvents } = await import('/console/sse.js');
              const chunks = ['data: {"a":', '1}\n', '\ndata: x\r\n\r', '\n: comment\n\nevent: e\ndata: l1\nda', 'ta: l2\n\n', 'data:nospace\n\ndata: [DONE]'];
              const enc = new TextEncoder();
              const body = new ReadableStream({ start(c) { for (const s of chunks) c.enqueue(enc.encode(s)); c.close(); } });
              const out = [];
              for await (const d of readEvents(new Response(body))) out.push(d);
              // Multi-byte UTF-8 split between chunks must not be mangled.
              const bytes = enc.encode('data: héllo ✓\n\n');
              const split = new ReadableStream({ start(c) { c.enqueue(bytes.slice(0, 8)); c.enqueue(bytes.slice(8)); c.close(); } });
              for await (const d of readEvents(new Response(split))) out.push(d);
              return out;
            }
            """);
        Assert.Equal(["{\"a\":1}", "x", "l1\nl2", "nospace", "[DONE]", "héllo ✓"], events);
    }
}
