using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Modular.Server.Http;

/// <summary>Reads a JSON request body with a size bound and clear errors for oversized, non-UTF-8 or malformed input.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>Parses the body into a document whose root must be an object.</summary>
    public static async Task<JsonDocument> ReadObjectAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength is long declared && declared > maxBytes) throw TooLarge(maxBytes);
        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is long n && n > 0 ? (int)n : 4096);
        try
        {
            while (true)
            {
                var span = buffer.GetMemory(8192);
                int read = await request.Body.ReadAsync(span, context.RequestAborted).ConfigureAwait(false);
                if (read == 0) break;
                buffer.Advance(read);
                if (buffer.WrittenCount > maxBytes) throw TooLarge(maxBytes);
            }
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiException(e.StatusCode, "could not read the request body: " + e.Message);
        }
        var bytes = buffer.WrittenMemory;
        if (bytes.Length == 0) throw new ApiException(400, "the request body is empty; send a JSON object", code: "invalid_json");
        if (!Utf8.IsValid(bytes.Span)) throw new ApiException(400, "the request body is not valid UTF-8", code: "invalid_encoding");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, Options); }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {FirstSentence(e.Message)}", code: "invalid_json");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new ApiException(400, "the request body must be a JSON object", code: "invalid_json");
        }
        return doc;
    }

    private static ApiException TooLarge(long max) =>
        new(413, $"the request body exceeds the limit of {max} bytes", code: "request_too_large");

    // System.Text.Json appends "Path: $ | LineNumber: 0 | BytePositionInLine: 5." which we already report.
    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(" Path:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }
}
