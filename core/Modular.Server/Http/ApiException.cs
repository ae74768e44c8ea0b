using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Modular.Server.Http;

/// <summary>
/// A request the server refuses, with everything an OpenAI-shaped error body needs. Thrown by the request binders
/// and handlers and turned into <c>{"error":{...}}</c> by <see cref="ApiErrors"/>; never escapes the pipeline.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string? type = null)
    : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;
    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; } = param;
    /// <summary>Machine-readable code, or null.</summary>
    public string? Code { get; } = code;
    /// <summary>OpenAI error type; derived from the status when not given.</summary>
    public string Type { get; } = type ?? ApiErrors.TypeFor(status);
    /// <summary>Seconds the client should wait before retrying (429, 503), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>A 400 naming the field.</summary>
    public static ApiException BadField(string param, string message) => new(400, message, param, "invalid_value");
}

/// <summary>Writes OpenAI-shaped error bodies.</summary>
public static class ApiErrors
{
    /// <summary>The OpenAI error type for a status code.</summary>
    public static string TypeFor(int status) => status switch
    {
        400 or 413 or 414 or 422 or 431 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_exceeded",
        503 => "service_unavailable",
        _ => "server_error",
    };

    /// <summary>Serialises <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static byte[] Body(string message, string type, string? param, string? code)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (param is null) w.WriteNull("param"); else w.WriteString("param", param);
            if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Writes the error as the response (when nothing has been sent yet).</summary>
    public static async Task WriteAsync(HttpContext context, ApiException e)
    {
        var response = context.Response;
        if (response.HasStarted) return;
        response.StatusCode = e.Status;
        response.ContentType = "application/json";
        if (e.RetryAfterSeconds is int s) response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var body = Body(e.Message, e.Type, e.Param, e.Code);
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
