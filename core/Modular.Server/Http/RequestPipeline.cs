using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Server.Observability;

namespace Modular.Server.Http;

/// <summary>
/// The outermost middleware: x-request-id (echoed or made), the header and request-line limits, the API key, refusal while draining, every failure
/// turned into an OpenAI-shaped error body, and one structured log line per request with its timings.
/// </summary>
internal sealed class RequestPipeline(ServerContext server, ApiKeyCheck? apiKey)
{
    private const string RequestIdHeader = "x-request-id";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var record = new RequestRecord(RequestIdFor(context));
        context.Features.Set(record);
        context.Response.Headers[RequestIdHeader] = record.RequestId;
        try
        {
            HeaderLimits.Check(context, server.Options.Limits);
            if (apiKey is not null && ApiKeyCheck.Protects(context.Request.Path)) apiKey.Verify(context);
            if (server.Gate.Draining && context.Request.Method == HttpMethods.Post) throw AdmissionGate.ShuttingDown();
            await next(context).ConfigureAwait(false);
            if (!context.Response.HasStarted && context.Response.StatusCode is 404 or 405 && context.Response.ContentLength is null)
                throw context.Response.StatusCode == 404
                    ? new ApiException(404, $"no route for {context.Request.Method} {context.Request.Path}", code: "not_found")
                    : new ApiException(405, $"method {context.Request.Method} is not allowed on {context.Request.Path}", code: "method_not_allowed", type: "invalid_request_error");
        }
        catch (ApiException e)
        {
            record.Error = e.Message;
            if (context.Response.HasStarted) return;
            await ApiErrors.WriteAsync(context, e).ConfigureAwait(false);
        }
        catch (Exception e) when (StreamFailures.IsClientGone(context, e))
        {
            record.Error = "client disconnected";
        }
        catch (Exception e)
        {
            record.Error = e.Message;
            server.Logger.LogError(e, "request {RequestId} failed", record.RequestId);
            if (!context.Response.HasStarted)
                await ApiErrors.WriteAsync(context, new ApiException(500, $"internal server error ({e.GetType().Name}); request id {record.RequestId}")).ConfigureAwait(false);
        }
        finally
        {
            Log(context, record);
        }
    }

    private void Log(HttpContext context, RequestRecord r)
    {
        if (!server.Logger.IsEnabled(LogLevel.Information)) return;
        double totalMs = Stopwatch.GetElapsedTime(r.StartTicks).TotalMilliseconds;
        server.Logger.LogInformation(
            "request {RequestId} {Method} {Path} status={Status} model={Model} stream={Stream} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} cached_tokens={CachedTokens} ttft_ms={TtftMs} total_ms={TotalMs} finish={Finish} error={Error}",
            r.RequestId, context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, r.Model ?? "-", r.Stream,
            r.PromptTokens, r.CompletionTokens, r.CachedTokens,
            r.TimeToFirstTokenSeconds is double t ? Math.Round(t * 1000, 2) : null, Math.Round(totalMs, 2), r.FinishReason ?? "-", r.Error ?? "-");
    }

    // A client-sent id is echoed when it is short printable ASCII (it lands in logs and headers).
    private static string RequestIdFor(HttpContext context)
    {
        string given = context.Request.Headers[RequestIdHeader].ToString();
        if (given.Length is > 0 and <= 128)
        {
            bool ok = true;
            foreach (char c in given) if (c < 0x21 || c > 0x7e) { ok = false; break; }
            if (ok) return given;
        }
        return Guid.NewGuid().ToString("N");
    }
}
