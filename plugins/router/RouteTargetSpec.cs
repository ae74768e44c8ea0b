namespace Modular.Plugins.Router;

/// <summary>One target requests can be routed to: a local model name, or a remote OpenAI-compatible server.</summary>
/// <param name="Name">Name rules refer to and decisions return.</param>
/// <param name="Url">Base URL of a remote server (its <c>/v1/...</c> and <c>/metrics</c> live under it); null for a local model.</param>
/// <param name="Model">Model name to ask the remote server for; null lets the front end pick the server's first model.</param>
/// <param name="ApiKey">Bearer token for the remote server, or null.</param>
/// <param name="Weight">Relative share under the weighted-random load strategy (&gt; 0).</param>
public sealed record RouteTargetSpec(string Name, Uri? Url, string? Model, string? ApiKey, double Weight)
{
    /// <summary>True for a remote server (its metrics and embeddings can be asked for over HTTP).</summary>
    public bool IsRemote => Url is not null;
}
