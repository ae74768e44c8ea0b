namespace Modular.Server.Routing;

/// <summary>
/// What one forwarding attempt produced before anything was sent to the client, the result type of the failover
/// pipeline (see <see cref="RouterResilience"/>): a buffered answer (a non-streamed body, or an error answer kept to be
/// passed on if every target fails), an open event stream whose first whole event has already arrived, or
/// <see cref="None"/> when no target is left to try. Disposing it closes a stream's response; Polly's retry disposes
/// the replies it retries past.
/// </summary>
internal sealed class TargetReply : IDisposable
{
    private readonly HttpResponseMessage? _streaming;

    private TargetReply(ForwardTarget? target, HttpResponseMessage? response, byte[]? body, HttpResponseMessage? streaming, Stream? upstream, SseRelay? relay)
    {
        Target = target;
        Status = response is null ? 0 : (int)response.StatusCode;
        ContentType = response?.Content.Headers.ContentType?.ToString();
        RequestId = response is not null && response.Headers.TryGetValues("x-request-id", out var ids) ? string.Join(",", ids) : null;
        Body = body;
        _streaming = streaming;
        Upstream = upstream;
        Relay = relay;
    }

    /// <summary>No target is left to try: ends the retries.</summary>
    public static TargetReply None { get; } = new(null, null, null, null, null, null);

    /// <summary>A whole answer read into memory (the response can be disposed once this is made).</summary>
    public static TargetReply Buffered(ForwardTarget target, HttpResponseMessage response, byte[] body) => new(target, response, body, null, null, null);

    /// <summary>An event stream with its first whole event held in <paramref name="relay"/>; the reply owns the response.</summary>
    public static TargetReply Streaming(ForwardTarget target, HttpResponseMessage response, Stream upstream, SseRelay relay) =>
        new(target, response, null, response, upstream, relay);

    /// <summary>The target that answered; null for <see cref="None"/>.</summary>
    public ForwardTarget? Target { get; }
    /// <summary>HTTP status the target answered with.</summary>
    public int Status { get; }
    /// <summary>The target's content type, or null.</summary>
    public string? ContentType { get; }
    /// <summary>The target's <c>x-request-id</c>, passed on to the client.</summary>
    public string? RequestId { get; }
    /// <summary>The whole body, when buffered.</summary>
    public byte[]? Body { get; }
    /// <summary>The rest of the event stream, when streaming.</summary>
    public Stream? Upstream { get; }
    /// <summary>Holds the events read so far, when streaming.</summary>
    public SseRelay? Relay { get; }

    /// <summary>An answer that another target should be asked for instead: a server error, a timeout (408) or a busy target (429).</summary>
    public bool IsRetryableError => Status >= 500 || Status is 408 or 429;

    /// <inheritdoc />
    public void Dispose()
    {
        Upstream?.Dispose();
        _streaming?.Dispose();
    }
}
