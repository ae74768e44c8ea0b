using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Modular.Abstractions;
using Modular.Plugins.Router;

namespace Modular.Router.Tests;

/// <summary>Builds a <see cref="RuleRouter"/> from a settings object, the way the host hands plugins.json settings over.</summary>
internal static class RouterFactory
{
    public static IConfiguration Configuration(JsonObject settings) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(settings.ToJsonString()))).Build();

    public static RuleRouter Create(JsonObject settings) => new(RouterSettings.Read(Configuration(settings)));

    /// <summary>Settings with the two intent targets (local unless URLs are given) and the given rules.</summary>
    public static JsonObject Settings(JsonArray rules, string? bardUrl = null, string? coderUrl = null, JsonArray? aliases = null)
    {
        var bard = new JsonObject { ["name"] = IntentData.Bard };
        if (bardUrl is not null) bard["url"] = bardUrl;
        var coder = new JsonObject { ["name"] = IntentData.Coder };
        if (coderUrl is not null) coder["url"] = coderUrl;
        return new JsonObject
        {
            ["aliases"] = aliases ?? new JsonArray("auto"),
            ["default"] = IntentData.Bard,
            ["targets"] = new JsonArray(bard, coder),
            ["rules"] = rules,
        };
    }

    public static RouteRequest Request(string text, string model = "auto", int messages = 1, string? exclude = null)
    {
        var headers = new Dictionary<string, string>();
        if (exclude is not null) headers[RuleRouter.ExcludeHeader] = exclude;
        return new RouteRequest(model, text, messages, headers);
    }

    public static RouteDecision Route(IRouter router, RouteRequest request) =>
        router.RouteAsync(request, CancellationToken.None).AsTask().GetAwaiter().GetResult();
}
