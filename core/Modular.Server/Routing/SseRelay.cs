using System.Buffers;

namespace Modular.Server.Routing;

/// <summary>
/// Carries a target's server-sent-event stream to the client one whole event at a time: bytes are passed through
/// unchanged, but only up to the last complete event (<c>\n\n</c>), so that a target dying mid-event never leaves
/// half an event in the client's stream before the error event. Knows whether the stream ended with
/// <c>data: [DONE]</c>, which tells a finished stream from a cut one.
/// </summary>
internal sealed class SseRelay
{
    private static readonly byte[] DoneEvent = "data: [DONE]"u8.ToArray();
    private readonly ArrayBufferWriter<byte> _pending = new(16 * 1024);

    /// <summary>True once the last event passed on was <c>data: [DONE]</c>.</summary>
    public bool SawDone { get; private set; }

    /// <summary>True when at least one complete event is waiting to be sent.</summary>
    public bool HasCompleteEvent => LastBoundary(_pending.WrittenSpan) >= 0;

    /// <summary>Adds bytes read from the target.</summary>
    public void Append(ReadOnlySpan<byte> bytes) => _pending.Write(bytes);

    /// <summary>Sends every complete event held and keeps the incomplete rest.</summary>
    public async Task FlushCompleteAsync(Stream client, CancellationToken cancellationToken)
    {
        var span = _pending.WrittenSpan;
        int end = LastBoundary(span);
        if (end < 0) return;
        SawDone = EndsWithDone(span[..end]);
        var rest = span[end..].ToArray();
        await client.WriteAsync(_pending.WrittenMemory[..end], cancellationToken).ConfigureAwait(false);
        await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        _pending.ResetWrittenCount();
        _pending.Write(rest);
    }

    /// <summary>
    /// At the target's end of stream: a trailing <c>data: [DONE]</c> without its blank line still counts as a clean
    /// end and is passed on; any other incomplete remainder is dropped (the caller then reports the stream as cut).
    /// </summary>
    public async Task FinishAsync(Stream client, CancellationToken cancellationToken)
    {
        await FlushCompleteAsync(client, cancellationToken).ConfigureAwait(false);
        if (_pending.WrittenCount == 0) return;
        if (EndsWithDone(_pending.WrittenSpan))
        {
            await client.WriteAsync(_pending.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await client.WriteAsync("\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
            SawDone = true;
        }
        _pending.ResetWrittenCount();
    }

    /// <summary>Index just past the last "\n\n", or -1.</summary>
    private static int LastBoundary(ReadOnlySpan<byte> span)
    {
        int i = span.LastIndexOf("\n\n"u8);
        return i < 0 ? -1 : i + 2;
    }

    private static bool EndsWithDone(ReadOnlySpan<byte> span)
    {
        int end = span.Length;
        while (end > 0 && (span[end - 1] == (byte)'\n' || span[end - 1] == (byte)'\r' || span[end - 1] == (byte)' ')) end--;
        return span[..end].EndsWith(DoneEvent);
    }
}
