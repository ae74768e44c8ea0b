using Microsoft.AspNetCore.Http;

namespace Modular.Server.Http;

/// <summary>Tells a client that went away apart from real failures.</summary>
internal static class StreamFailures
{
    /// <summary>True when <paramref name="e"/> is the result of the client disconnecting.</summary>
    public static bool IsClientGone(HttpContext context, Exception e) =>
        context.RequestAborted.IsCancellationRequested
        && e is OperationCanceledException or IOException or System.Threading.Channels.ChannelClosedException;
}
