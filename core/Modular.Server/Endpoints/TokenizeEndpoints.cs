using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Modular.Server.Http;
using Modular.Server.Protocol;
using Modular.Templates;

namespace Modular.Server.Endpoints;

/// <summary>POST /tokenize (a prompt or chat messages) and POST /detokenize, as vLLM serves them.</summary>
internal sealed class TokenizeEndpoints(ServerContext server)
{
    public async Task TokenizeAsync(HttpContext context)
    {
        using var body = await server.ReadRequestAsync(context).ConfigureAwait(false);
        var (f, model) = (body.Fields, body.Model);
        int[] ids;
        if (f.Array("messages") is { } messagesEl)
        {
            var messages = ChatMessages.Read(messagesEl, server.Options.Limits.MaxMessages, server.Options.Limits.MaxContentParts);
            var template = model.ChatTemplate ?? throw new ApiException(400, $"model {model.Name} has no chat template", "messages", "no_chat_template");
            JsonObject? kwargs = f.Object("chat_template_kwargs") is { } k ? JsonNode.Parse(k.GetRawText())!.AsObject() : null;
            string text;
            var tools = ChatTools.Bind(f, server.Options.Limits)?.TemplateTools;
            try { text = template.Apply(messages, f.Bool("add_generation_prompt") ?? true, model.Tokenizer.BosToken, model.Tokenizer.EosToken, tools, kwargs); }
            catch (TemplateException e) { throw ApiException.BadField("messages", "the chat template rejected the messages: " + e.Message); }
            ids = model.Tokenizer.Encode(text, f.Bool("add_special_tokens") ?? false);
        }
        else
        {
            string prompt = f.String("prompt") ?? throw ApiException.BadField("prompt", "prompt: is required (or send messages)");
            ids = model.Tokenizer.Encode(prompt, f.Bool("add_special_tokens") ?? true);
        }
        bool strs = f.Bool("return_token_strs") ?? false;
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("count", ids.Length);
            w.WriteNumber("max_model_len", model.Engine.MaxModelLen);
            w.WriteStartArray("tokens");
            foreach (int id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            if (strs)
            {
                w.WriteStartArray("token_strs");
                foreach (int id in ids) w.WriteStringValue(model.Tokenizer.IdToToken(id));
                w.WriteEndArray();
            }
            else w.WriteNull("token_strs");
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public async Task DetokenizeAsync(HttpContext context)
    {
        using var body = await server.ReadRequestAsync(context).ConfigureAwait(false);
        var (f, model) = (body.Fields, body.Model);
        var ids = f.Ints("tokens", 0, model.Tokenizer.VocabSize - 1) ?? throw ApiException.BadField("tokens", "tokens: is required");
        string text = model.Tokenizer.Decode(ids.ToArray(), f.Bool("skip_special_tokens") ?? false);
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("prompt", text);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
