using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Modular.Plugins.Router.Embedding;

/// <summary>
/// Embeddings from a target's OpenAI-compatible <c>/v1/embeddings</c>. Vectors are L2-normalised on arrival so that
/// cosine similarity is a dot product, as with <see cref="NgramHashEmbedder"/>.
/// </summary>
internal sealed class RemoteEmbedder(HttpClient http, RouteTargetSpec target, string? model, TimeSpan timeout)
{
    /// <summary>Name of the target asked, for decision reasons.</summary>
    public string TargetName => target.Name;

    /// <summary>Embeds <paramref name="inputs"/> in one request.</summary>
    /// <exception cref="HttpRequestException">The target failed or answered something that is not an embeddings list.</exception>
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var uri = new Uri(target.Url!, "v1/embeddings");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(Body(inputs), Encoding.UTF8, "application/json") };
        if (target.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request, timeoutCts.Token).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(timeoutCts.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{uri} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300))}");
        return Parse(bytes, inputs.Count, uri);
    }

    private string Body(IReadOnlyList<string> inputs)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if ((model ?? target.Model) is { } m) w.WriteString("model", m);
            w.WriteStartArray("input");
            foreach (var s in inputs) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static float[][] Parse(byte[] json, int expected, Uri uri)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array || data.GetArrayLength() != expected)
            throw new HttpRequestException($"{uri} did not return a data array of {expected} embeddings");
        var result = new float[expected][];
        int fallbackIndex = 0;
        foreach (var item in data.EnumerateArray())
        {
            int index = item.TryGetProperty("index", out var ix) && ix.TryGetInt32(out var i) ? i : fallbackIndex;
            fallbackIndex++;
            if (index < 0 || index >= expected || !item.TryGetProperty("embedding", out var emb) || emb.ValueKind != JsonValueKind.Array)
                throw new HttpRequestException($"{uri} returned an embeddings item without a float array 'embedding' or with a bad 'index'");
            var v = new float[emb.GetArrayLength()];
            int k = 0;
            foreach (var x in emb.EnumerateArray()) v[k++] = x.GetSingle();
            Normalize(v);
            result[index] = v;
        }
        foreach (var v in result)
            if (v is null) throw new HttpRequestException($"{uri} returned duplicate embedding indices");
        return result;
    }

    private static void Normalize(float[] v)
    {
        double sum = 0;
        foreach (var x in v) sum += x * x;
        if (sum <= 0) return;
        float scale = (float)(1 / Math.Sqrt(sum));
        for (int i = 0; i < v.Length; i++) v[i] *= scale;
    }
}
