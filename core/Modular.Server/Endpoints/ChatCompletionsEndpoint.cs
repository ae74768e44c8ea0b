using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Modular.Engine;
using Modular.Server.Engine;
using Modular.Server.Http;
using Modular.Server.Protocol;
using Modular.Templates;

namespace Modular.Server.Endpoints;

/// <summary>POST /v1/chat/completions: chat template, generation, JSON or SSE response in OpenAI's format.</summary>
internal sealed class ChatCompletionsEndpoint(ServerContext server)
{

    private sealed record ChatPrompt(string Text, int[] Ids);

    public async Task HandleAsync(HttpContext context)
    {
        using var body = await server.ReadRequestAsync(context).ConfigureAwait(false);
        var (record, f, model) = (body.Record, body.Fields, body.Model);
        var tools = ChatTools.Bind(f, server.Options.Limits);
        var prompt = Render(model, f, tools);
        var gen = SamplingBinder.Bind(f, chat: true, model.Tokenizer.VocabSize, server.Options.Limits, defaultMaxTokens: null);
        int maxTokens = ContextWindow.Resolve(model.Engine.MaxModelLen, prompt.Ids.Length, gen.Sampling.MaxTokens, "messages", "messages");
        var grammar = Grammar(f, model, tools);
        ServerContext.EnsureAlive(model);
        using var ticket = server.Gate.Enter();

        string id = Outputs.NewId("chatcmpl-");
        var request = new EngineRequest
        {
            RequestId = id,
            PromptTokenIds = prompt.Ids,
            Params = gen.Sampling with { MaxTokens = maxTokens },
            Priority = gen.Priority,
            CacheSalt = gen.CacheSalt,
            GrammarFactory = grammar,
        };
        record.PromptTokens = prompt.Ids.Length;
        record.Stream = gen.Stream;
        using var activity = Observability.RequestTracing.StartRequest("chat.completions", record.RequestId, model.Name);
        try
        {
            var run = new GenerationRun(model, server.Metrics, record);
            if (gen.Stream) await StreamAsync(context, model, id, [request], run, gen, tools).ConfigureAwait(false);
            else await RespondAsync(context, model, id, request, run, gen, tools).ConfigureAwait(false);
        }
        finally
        {
            Observability.RequestTracing.Finish(activity, record);
        }
    }

    // A constraining tool_choice is itself the output constraint, so it cannot be combined with another one.
    private static Func<Abstractions.IGrammarMatcher>? Grammar(JsonFields f, ServedModel model, ChatTools? tools)
    {
        if (tools is not { Constrains: true }) return GuidedBinder.Factory(f, model.Guided, model.Tokenizer);
        if (GuidedBinder.Read(f) is var (_, param))
            throw ApiException.BadField("tool_choice", $"tool_choice: a forced tool call already constrains the output; it cannot be combined with {param}");
        return ToolConstraint.Factory(tools, model.Guided, model.Tokenizer);
    }

    private ChatPrompt Render(ServedModel model, JsonFields f, ChatTools? chatTools)
    {
        var messagesEl = f.Array("messages") ?? throw ApiException.BadField("messages", "messages: is required");
        var messages = ChatMessages.Read(messagesEl, server.Options.Limits.MaxMessages, server.Options.Limits.MaxContentParts);
        bool addGenerationPrompt = f.Bool("add_generation_prompt") ?? true;
        bool continueFinal = f.Bool("continue_final_message") ?? false;
        if (continueFinal && f.Bool("add_generation_prompt") == true)
            throw ApiException.BadField("continue_final_message", "continue_final_message: cannot be combined with add_generation_prompt=true");
        if (continueFinal) addGenerationPrompt = false;
        JsonArray? tools = chatTools?.TemplateTools;
        JsonObject? kwargs = f.Object("chat_template_kwargs") is { } k ? JsonNode.Parse(k.GetRawText())!.AsObject() : null;

        ChatTemplate template;
        if (f.String("chat_template") is { } custom)
        {
            if (!server.Options.Limits.TrustRequestChatTemplate)
                throw ApiException.BadField("chat_template", "chat_template: this server does not accept per-request chat templates (start it with --trust-request-chat-template)");
            try { template = ChatTemplate.Parse(custom); }
            catch (Exception e) when (e is TemplateException) { throw ApiException.BadField("chat_template", "chat_template: " + e.Message); }
        }
        else
        {
            try
            {
                template = model.ChatTemplate ?? throw new ApiException(400,
                    $"model {model.Name} has no chat template; use /v1/completions or pass chat_template", "messages", "no_chat_template");
            }
            catch (TemplateException e) { throw new ApiException(500, $"the chat template of model {model.Name} does not parse: {e.Message}"); }
        }

        string text;
        try
        {
            text = template.Apply(messages, addGenerationPrompt, model.Tokenizer.BosToken, model.Tokenizer.EosToken, tools, kwargs);
        }
        catch (TemplateException e) { throw ApiException.BadField("messages", "the chat template rejected the messages: " + e.Message); }
        if (continueFinal) text = CutAfterFinalMessage(text, messages);
        bool addSpecial = f.Bool("add_special_tokens") ?? false;
        return new ChatPrompt(text, model.Tokenizer.Encode(text, addSpecial));
    }

    // continue_final_message: the rendering ends inside the last message so generation extends it.
    private static string CutAfterFinalMessage(string rendered, JsonArray messages)
    {
        string last = messages[^1]?["content"]?.GetValue<string>() ?? "";
        int at = last.Length == 0 ? -1 : rendered.LastIndexOf(last, StringComparison.Ordinal);
        if (at < 0) throw ApiException.BadField("continue_final_message", "continue_final_message: the final message's content is empty or does not appear in the rendered prompt");
        return rendered[..(at + last.Length)];
    }

    private async Task RespondAsync(HttpContext context, ServedModel model, string id, EngineRequest request, GenerationRun run, GenerationOptions gen,
        ChatTools? tools)
    {
        RequestOutput? final = null;
        try
        {
            await foreach (var (_, o) in run.RunAsync([request], context.RequestAborted).ConfigureAwait(false)) final = o;
        }
        catch (EngineRequestException e) { throw new ApiException(400, e.Message); }
        if (context.RequestAborted.IsCancellationRequested || final is null) return; // the client left: nothing to send
        if (final.Error is { } error) throw new ApiException(500, "generation failed: " + error);
        var record = ServerContext.Record(context);
        record.CompletionTokens = final.Usage.CompletionTokens;
        record.CachedTokens = final.Usage.CachedPromptTokens;
        long created = Outputs.Now();
        int topN = gen.Sampling.Logprobs ?? 0;
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", created);
            w.WriteString("model", model.Name);
            w.WriteStartArray("choices");
            foreach (var c in final.Outputs)
            {
                var (content, calls, finishReason) = ChatMessageWriter.Final(c, tools);
                w.WriteStartObject();
                w.WriteNumber("index", c.Index);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                ChatMessageWriter.WriteMessageBody(w, content, calls);
                w.WriteEndObject();
                if (gen.Sampling.Logprobs is not null && c.Logprobs is { } lps)
                {
                    w.WriteStartObject("logprobs");
                    w.WriteStartArray("content");
                    TokenText.WriteChatEntries(w, model.Tokenizer, lps, 0, topN);
                    w.WriteEndArray();
                    w.WriteNull("refusal");
                    w.WriteEndObject();
                }
                else w.WriteNull("logprobs");
                w.WriteString("finish_reason", finishReason);
                Outputs.WriteStopReason(w, c);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Outputs.WriteUsage(w, final.Usage.PromptTokens, final.Usage.CompletionTokens, final.Usage.CachedPromptTokens);
            PromptLogprobsWriter.Write(w, model.Tokenizer, final);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    internal async Task StreamAsync(HttpContext context, ServedModel model, string id, EngineRequest[] requests, GenerationRun run, GenerationOptions gen,
        ChatTools? tools = null)
    {
        var sse = new SseStream(context);
        var record = ServerContext.Record(context);
        long created = Outputs.Now();
        int n = gen.Sampling.N;
        var tracker = new ChoiceTracker(1, n);
        var toolStreams = new ToolCallStream?[n];
        if (tools is not null && tools.Mode != ToolChoiceMode.None)
            for (int i = 0; i < n; i++) toolStreams[i] = new ToolCallStream(tools);
        int topN = gen.Sampling.Logprobs ?? 0;
        int promptTokens = requests[0].PromptTokenIds!.Count;
        for (int i = 0; i < n; i++)
        {
            int index = i;
            sse.Add(w => Chunk(w, id, created, model.Name, gen, w2 =>
            {
                w2.WriteStartObject();
                w2.WriteNumber("index", index);
                w2.WriteStartObject("delta");
                w2.WriteString("role", "assistant");
                w2.WriteString("content", "");
                w2.WriteEndObject();
                w2.WriteNull("logprobs");
                w2.WriteNull("finish_reason");
                w2.WriteEndObject();
            }, gen.ContinuousUsage ? (promptTokens, 0) : null));
        }
        try
        {
            await sse.FlushAsync().ConfigureAwait(false);
            RequestOutput? last = null;
            await foreach (var (_, o) in run.RunAsync(requests, context.RequestAborted).ConfigureAwait(false))
            {
                last = o;
                foreach (var c in o.Outputs)
                {
                    var st = tracker[c.Index];
                    bool newText = c.Text.Length > st.SentText;
                    int lpCount = c.Logprobs?.Count ?? 0;
                    bool newLogprobs = gen.Sampling.Logprobs is not null && lpCount > st.SentLogprobs;
                    bool finishing = c.Finished && !st.FinishSent;
                    if (!newText && !newLogprobs && !finishing) continue;
                    string delta = c.Text[st.SentText..];
                    var toolStream = toolStreams[c.Index];
                    var message = toolStream?.Update(c.Text, c.Finished);
                    if (message is not null) delta = message.Content.ToString();
                    string? finishReason = finishing ? toolStream?.FinishReason(c.FinishReason!) ?? c.FinishReason : null;
                    if (message is not null && message.IsEmpty && !newLogprobs && !finishing)
                    {
                        st.SentText = c.Text.Length; // held back (a tool call may be starting): nothing to send yet
                        continue;
                    }
                    int lpFrom = st.SentLogprobs;
                    st.SentText = c.Text.Length;
                    st.SentLogprobs = lpCount;
                    st.FinishSent |= c.Finished;
                    var usage = gen.ContinuousUsage ? (o.Usage.PromptTokens, o.Usage.CompletionTokens) : ((int, int)?)null;
                    sse.Add(w => Chunk(w, id, created, model.Name, gen, w2 =>
                    {
                        w2.WriteStartObject();
                        w2.WriteNumber("index", c.Index);
                        w2.WriteStartObject("delta");
                        if (delta.Length > 0 || (!finishing && message is not { Calls.Count: > 0 })) w2.WriteString("content", delta);
                        if (message is not null) ChatMessageWriter.WriteDeltaCalls(w2, message.Calls);
                        w2.WriteEndObject();
                        if (newLogprobs)
                        {
                            w2.WriteStartObject("logprobs");
                            w2.WriteStartArray("content");
                            TokenText.WriteChatEntries(w2, model.Tokenizer, c.Logprobs!, lpFrom, topN);
                            w2.WriteEndArray();
                            w2.WriteEndObject();
                        }
                        else w2.WriteNull("logprobs");
                        if (finishing) w2.WriteString("finish_reason", finishReason); else w2.WriteNull("finish_reason");
                        if (finishing) Outputs.WriteStopReason(w2, c);
                        w2.WriteEndObject();
                    }, usage));
                }
                if (o.Finished && o.Error is { } error) sse.AddError(new ApiException(500, "generation failed: " + error));
                await sse.FlushAsync().ConfigureAwait(false);
            }
            if (last is null || !last.Finished) return; // the client left
            record.CompletionTokens = last.Usage.CompletionTokens;
            record.CachedTokens = last.Usage.CachedPromptTokens;
            if (gen.IncludeUsage)
                sse.Add(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", id);
                    w.WriteString("object", "chat.completion.chunk");
                    w.WriteNumber("created", created);
                    w.WriteString("model", model.Name);
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    Outputs.WriteUsage(w, last.Usage.PromptTokens, last.Usage.CompletionTokens, last.Usage.CachedPromptTokens);
                    w.WriteEndObject();
                });
            await sse.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (StreamFailures.IsClientGone(context, e))
        {
            record.Error = "client disconnected";
        }
        catch (EngineRequestException e)
        {
            sse.AddError(new ApiException(400, e.Message));
            await sse.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static void Chunk(Utf8JsonWriter w, string id, long created, string model, GenerationOptions gen, Action<Utf8JsonWriter> choice, (int Prompt, int Completion)? usage)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        choice(w);
        w.WriteEndArray();
        if (usage is var (p, c)) Outputs.WriteUsage(w, p, c, 0);
        else if (gen.IncludeUsage) w.WriteNull("usage");
        w.WriteEndObject();
    }
}
