using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Modular.Server.Engine;
using Modular.Server.Http;
using Modular.Server.Protocol;

namespace Modular.Server.Endpoints;

/// <summary>POST /v1/embeddings: pooled, L2-normalised final hidden states as float lists or base64 float32.</summary>
internal sealed class EmbeddingsEndpoint(ServerContext server)
{
    public async Task HandleAsync(HttpContext context)
    {
        using var body = await server.ReadRequestAsync(context).ConfigureAwait(false);
        var (record, f, model) = (body.Record, body.Fields, body.Model);
        var embedder = model.Embedder ?? throw new ApiException(400, $"model {model.Name} does not support embeddings", "model", "unsupported");
        bool addSpecial = f.Bool("add_special_tokens") ?? true;
        var inputs = PromptInputs.Read(f, "input", model.Tokenizer, addSpecial, server.Options.Limits.MaxBatchInputs);
        string format = f.String("encoding_format") ?? "float";
        if (format is not ("float" or "base64"))
            throw ApiException.BadField("encoding_format", $"encoding_format: \"{format}\" is not supported; use \"float\" or \"base64\"");
        if (f.Int("dimensions", 1) is int dims && dims != embedder.Dimensions)
            throw ApiException.BadField("dimensions", $"dimensions: this model's embeddings have {embedder.Dimensions} dimensions and cannot be shortened; got {dims}");
        var pooling = (f.String("pooling") ?? "last") switch
        {
            "last" => Pooling.Last,
            "mean" => Pooling.Mean,
            var other => throw ApiException.BadField("pooling", $"pooling: \"{other}\" is not supported; use \"last\" or \"mean\""),
        };
        int total = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Length > embedder.MaxLength)
                throw new ApiException(400, $"This model's maximum context length is {embedder.MaxLength} tokens. However, input[{i}] has {inputs[i].Length} tokens.", "input", "context_length_exceeded");
            total += inputs[i].Length;
        }
        record.PromptTokens = total;
        ServerContext.EnsureAlive(model);
        using var ticket = server.Gate.Enter();
        float[][] vectors;
        try
        {
            vectors = await model.Engine.RunExclusiveAsync(() => embedder.Embed(inputs, pooling, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { return; }
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", Outputs.NewId("embd-"));
            w.WriteString("object", "list");
            w.WriteNumber("created", Outputs.Now());
            w.WriteString("model", model.Name);
            w.WriteStartArray("data");
            for (int i = 0; i < vectors.Length; i++)
            {
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (format == "base64") w.WriteBase64String("embedding", MemoryMarshal.AsBytes(vectors[i].AsSpan()));
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (float x in vectors[i]) w.WriteNumberValue(x);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", total);
            w.WriteNumber("total_tokens", total);
            w.WriteEndObject();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
