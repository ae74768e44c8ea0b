using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Modular.Server.Protocol;

namespace Modular.Server.Http;

/// <summary>
/// The server's own request-line and header limits. Kestrel rejects oversized headers itself, but with an empty
/// body; so Kestrel is given a hard limit above the configured one (<see cref="ServerLimits.KestrelHardLimit"/>)
/// and the configured one is enforced here, where the refusal can carry an OpenAI-shaped body naming the limit.
/// </summary>
internal static class HeaderLimits
{
    // Bytes of a header line beyond its name and value: ": " and CRLF.
    private const int LineOverhead = 4;

    /// <summary>Throws a 414 or 431 <see cref="ApiException"/> when the request crosses a configured limit.</summary>
    public static void Check(HttpContext context, ServerLimits limits)
    {
        var request = context.Request;
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value + request.QueryString.Value;
        long line = request.Method.Length + 1L + target.Length + 1 + request.Protocol.Length;
        if (line > limits.MaxRequestLineBytes)
            throw new ApiException(414, $"the request line is {line} bytes; the limit is {limits.MaxRequestLineBytes} bytes (--max-request-line-bytes)",
                code: "request_line_too_long", type: "invalid_request_error");

        long bytes = 0;
        int count = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                count++;
                bytes += name.Length + (value?.Length ?? 0) + LineOverhead;
            }
        }
        if (count > limits.MaxHeaderCount)
            throw new ApiException(431, $"the request has {count} header lines; the limit is {limits.MaxHeaderCount} (--max-header-count)",
                code: "request_header_fields_too_large", type: "invalid_request_error");
        if (bytes > limits.MaxHeaderBytes)
            throw new ApiException(431, $"the request headers total {bytes} bytes; the limit is {limits.MaxHeaderBytes} bytes (--max-header-bytes)",
                code: "request_header_fields_too_large", type: "invalid_request_error");
    }
}
