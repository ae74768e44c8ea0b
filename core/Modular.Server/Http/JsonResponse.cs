using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Modular.Server.Http;

/// <summary>Writes JSON responses and server-sent events straight from a <see cref="Utf8JsonWriter"/>.</summary>
internal static class JsonResponse
{
    // Non-ASCII text stays readable (OpenAI's servers do the same); only what JSON requires is escaped.
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a complete JSON response.</summary>
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> body, int status = 200)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) body(w);
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>A server-sent-event stream in OpenAI's format: <c>data: {json}\n\n</c> events, ending with <c>data: [DONE]</c>.</summary>
internal sealed class SseStream
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly HttpContext _context;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private bool _started;

    public SseStream(HttpContext context) => _context = context;

    /// <summary>True once headers have been sent (errors must then go in-band).</summary>
    public bool Started => _started;

    private void Start()
    {
        if (_started) return;
        _started = true;
        var r = _context.Response;
        r.StatusCode = 200;
        r.ContentType = "text/event-stream; charset=utf-8";
        r.Headers.CacheControl = "no-cache";
        r.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>Queues one event (sent at the next flush).</summary>
    public void Add(Action<Utf8JsonWriter> body)
    {
        Start();
        _buffer.Write(Prefix);
        using (var w = new Utf8JsonWriter(_buffer, JsonResponse.WriterOptions)) body(w);
        _buffer.Write(Suffix);
    }

    /// <summary>Sends the queued events.</summary>
    public async Task FlushAsync()
    {
        Start();
        if (_buffer.WrittenCount > 0)
        {
            await _context.Response.Body.WriteAsync(_buffer.WrittenMemory, _context.RequestAborted).ConfigureAwait(false);
            _buffer.ResetWrittenCount();
        }
        await _context.Response.Body.FlushAsync(_context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Sends the queued events and the closing <c>[DONE]</c>.</summary>
    public async Task CompleteAsync()
    {
        Start();
        _buffer.Write(Done);
        await FlushAsync().ConfigureAwait(false);
    }

    /// <summary>An in-band error event (headers already sent).</summary>
    public void AddError(ApiException e) => Add(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", e.Message);
        w.WriteString("type", e.Type);
        if (e.Param is null) w.WriteNull("param"); else w.WriteString("param", e.Param);
        if (e.Code is null) w.WriteNull("code"); else w.WriteString("code", e.Code);
        w.WriteEndObject();
        w.WriteEndObject();
    });
}
