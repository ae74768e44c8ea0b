namespace Modular.Abstractions;

/// <summary>What a router sees of a request.</summary>
/// <param name="Model">Requested model name ("auto" or an alias to route).</param>
/// <param name="Text">The prompt text, or the concatenated message contents.</param>
/// <param name="MessageCount">Conversation depth (1 for a plain prompt).</param>
/// <param name="Headers">Selected request headers.</param>
public sealed record RouteRequest(string Model, string Text, int MessageCount, IReadOnlyDictionary<string, string> Headers);

/// <summary>The routing decision.</summary>
/// <param name="Target">Name of the chosen target (a local model name or a configured remote target).</param>
/// <param name="Reason">Why ("intent: code (0.82)", "load: least outstanding").</param>
public sealed record RouteDecision(string Target, string Reason);

/// <summary>Picks the model or instance that should answer a request.</summary>
public interface IRouter
{
    /// <summary>True when this router handles requests for <paramref name="model"/> ("auto" or an alias).</summary>
    bool Handles(string model);

    /// <summary>Chooses a target; never throws for a well-formed request (falls back to its default).</summary>
    ValueTask<RouteDecision> RouteAsync(RouteRequest request, CancellationToken cancellationToken);
}
