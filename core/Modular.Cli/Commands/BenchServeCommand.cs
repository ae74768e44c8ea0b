using System.CommandLine;
using System.Text.Json;
using Modular.Cli.Benchmarks;

namespace Modular.Cli.Commands;

/// <summary><c>modular bench serve</c>: load-test any OpenAI-compatible server (ours or another).</summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var baseUrl = new Option<string>("--base-url") { DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "bard-2m" };
        var numPrompts = new Option<int>("--num-prompts") { DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--request-rate")
        {
            Description = "requests/s (Poisson); inf sends all at once",
            DefaultValueFactory = _ => double.PositiveInfinity,
            // vLLM spells the unbounded rate "inf"; .NET's double parser only knows "Infinity".
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "inf";
                if (text.Equals("inf", StringComparison.OrdinalIgnoreCase)) return double.PositiveInfinity;
                if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0) return v;
                result.AddError($"--request-rate: \"{text}\" is not a positive number or inf");
                return 0;
            },
        };
        var concurrency = new Option<int>("--max-concurrency") { DefaultValueFactory = _ => 0 };
        var dataset = new Option<string>("--dataset") { Description = "random, or a text corpus for ShareGPT-like lengths (W3)", DefaultValueFactory = _ => "random" };
        var input = new Option<int>("--input-len") { Description = "random dataset: prompt words", DefaultValueFactory = _ => 64 };
        var output = new Option<int>("--output-len") { DefaultValueFactory = _ => 64 };
        var preset = new Option<string?>("--preset") { Description = "W3: 1,000 ShareGPT-like requests from --dataset at --request-rate (default 4/s)" };
        var sloTtft = new Option<double?>("--slo-ttft-ms");
        var sloTpot = new Option<double?>("--slo-tpot-ms");
        var apiKey = new Option<string?>("--api-key");
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var json = new Option<string?>("--json");
        var cmd = new Command("serve", "Serving benchmark against an OpenAI-compatible server: TTFT, TPOT, ITL, e2e, throughput, goodput")
        { baseUrl, model, numPrompts, rate, concurrency, dataset, input, output, preset, sloTtft, sloTpot, apiKey, seed, json };
        cmd.SetAction(async (r, ct) =>
        {
            int n = r.GetValue(numPrompts);
            double reqRate = r.GetValue(rate);
            var data = r.GetValue(dataset)!;
            if (r.GetValue(preset) is "W3" or "w3")
            {
                n = 1000;
                if (double.IsInfinity(reqRate)) reqRate = 4;
                if (data == "random") throw new ArgumentException("--preset W3 needs --dataset <corpus>, e.g. ../shared/fixtures/corpus/shakespeare.txt");
            }
            var requests = data == "random"
                ? RandomRequests(n, r.GetValue(input), r.GetValue(output), r.GetValue(seed))
                : ServeBenchmark.FromCorpus(data, n, Math.Max(8, r.GetValue(input)), r.GetValue(output), r.GetValue(seed));
            var settings = new ServeSettings(r.GetValue(baseUrl)!, r.GetValue(model)!, reqRate, r.GetValue(concurrency), double.IsInfinity(reqRate),
                r.GetValue(seed), r.GetValue(sloTtft), r.GetValue(sloTpot), r.GetValue(apiKey));
            var (samples, seconds) = await ServeBenchmark.RunAsync(settings, requests, ct);
            var summary = ServeBenchmark.Summarize(settings, samples, seconds, Console.WriteLine);
            if (r.GetValue(json) is string path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    bench = "serve", date = DateTime.UtcNow.ToString("O"), commit = BenchInfo.Commit(),
                    settings = new { settings.BaseUrl, settings.Model, num_prompts = n, request_rate = double.IsInfinity(reqRate) ? "inf" : reqRate.ToString(System.Globalization.CultureInfo.InvariantCulture), settings.MaxConcurrency, dataset = data },
                    result = summary,
                }, new JsonSerializerOptions { WriteIndented = true }));
            return samples.Any(x => x.Ok) ? 0 : 1;
        });
        return cmd;
    }

    private static List<ServeRequest> RandomRequests(int n, int words, int output, int seed)
    {
        var rng = new Random(seed);
        var vocab = new[] { "the", "king", "love", "night", "sword", "crown", "speak", "heart", "lord", "fair", "death", "time" };
        var list = new List<ServeRequest>(n);
        for (int i = 0; i < n; i++)
            list.Add(new ServeRequest(string.Join(' ', Enumerable.Range(0, words).Select(_ => vocab[rng.Next(vocab.Length)])), output));
        return list;
    }
}
