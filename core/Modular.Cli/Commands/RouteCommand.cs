using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Modular.Abstractions;
using Modular.Hosting;
using Modular.Server.Routing;

namespace Modular.Cli.Commands;

/// <summary>
/// <c>modular route</c>: the router-only front end (no model loaded) forwarding OpenAI requests to the targets of the
/// router plugin's settings; <c>modular route bench</c>: how long the configured router takes to decide.
/// </summary>
internal static class RouteCommand
{
    public static Command Create()
    {
        var plugins = CliOptions.Plugins();
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port to listen on (0 picks a free one)", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string?>("--api-key") { Description = "bearer token clients must send (default: $MODULAR_API_KEY, else none)" };
        var attempts = new Option<int>("--max-attempts") { Description = "targets tried per request before giving up", DefaultValueFactory = _ => 3 };
        var timeout = new Option<double>("--target-timeout") { Description = "seconds a target may take (whole non-streamed answer; each gap of a stream) unless its settings say timeout_seconds", DefaultValueFactory = _ => 120 };
        var healthMs = new Option<int>("--health-interval-ms") { Description = "how often each target's /health is checked", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("route", "Run the router front end: OpenAI endpoints forwarded to the targets the router plugin picks (no model loaded)")
        { plugins, host, port, apiKey, attempts, timeout, healthMs, CreateBench() };
        cmd.SetAction(async (r, ct) =>
        {
            if (r.GetValue(attempts) < 1) throw new ArgumentException("--max-attempts must be at least 1");
            if (!(r.GetValue(timeout) > 0)) throw new ArgumentException("--target-timeout must be a positive number of seconds");
            if (r.GetValue(healthMs) < 50) throw new ArgumentException("--health-interval-ms must be at least 50");
            var options = new RouterFrontEndOptions
            {
                PluginsJson = r.GetValue(plugins) ?? PluginRuntime.DefaultPluginsJson(),
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ApiKey = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("MODULAR_API_KEY"),
                MaxAttempts = r.GetValue(attempts),
                TargetTimeout = TimeSpan.FromSeconds(r.GetValue(timeout)),
                HealthInterval = TimeSpan.FromMilliseconds(r.GetValue(healthMs)),
            };
            await using var app = BuildOrExplain(options);
            await app.StartAsync(ct);
            Console.Error.WriteLine($"[modular] routing on {string.Join(", ", RouterFrontEnd.Addresses(app))}");
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return cmd;
    }

    private static Microsoft.AspNetCore.Builder.WebApplication BuildOrExplain(RouterFrontEndOptions options)
    {
        try
        {
            return RouterFrontEnd.Build(options);
        }
        catch (InvalidOperationException e)
        {
            // Router configuration problems are user errors: the CLI prints them without a stack trace.
            throw new ArgumentException(e.Message, e);
        }
    }

    private static Command CreateBench()
    {
        var plugins = CliOptions.Plugins();
        var prompts = new Option<string?>("--prompts") { Description = "file with one prompt per line (default: a built-in mixed set)" };
        var model = new Option<string>("--model") { Description = "routed model name the requests ask for", DefaultValueFactory = _ => "auto" };
        var decisions = new Option<int>("--decisions") { Description = "decisions to time", DefaultValueFactory = _ => 5000 };
        var cmd = new Command("bench", "Time the configured router's decisions (no network to the targets unless a rule needs it)")
        { plugins, prompts, model, decisions };
        cmd.SetAction(async (r, ct) =>
        {
            if (r.GetValue(decisions) < 1) throw new ArgumentException("--decisions must be at least 1");
            using var loaded = LoadedRouter.Load(r.GetValue(plugins) ?? PluginRuntime.DefaultPluginsJson());
            var texts = r.GetValue(prompts) is { } path
                ? File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray()
                : BuiltInPrompts;
            if (texts.Length == 0) throw new ArgumentException($"--prompts {r.GetValue(prompts)} has no non-empty line");
            var name = r.GetValue(model)!;
            if (!loaded.Router.Handles(name)) throw new ArgumentException($"the router does not handle model '{name}'; pass --model with one of its aliases");
            var empty = new Dictionary<string, string>();
            var requests = texts.Select(t => new RouteRequest(name, t, 1, empty)).ToArray();
            var result = await RouteBenchmark.RunAsync(loaded.Router, requests, r.GetValue(decisions), cancellationToken: ct);
            Console.WriteLine($"router {loaded.Router.GetType().Name} from {loaded.Plugin.Entry.FullPath}");
            Console.WriteLine(result.ToString());
            return 0;
        });
        return cmd;
    }

    private static readonly string[] BuiltInPrompts =
    [
        "Write a sonnet about the sea at dusk.",
        "How do I reverse a linked list in Python?",
        "Shall I compare thee to a summer's day?",
        "Solve for x: 3x + 7 = 22, step by step.",
        "Compose a short poem about autumn leaves and longing.",
        "Explain the time complexity of quicksort and when it degrades.",
        "What light through yonder window breaks?",
        "Write a SQL query that finds duplicate emails in a users table.",
    ];
}
