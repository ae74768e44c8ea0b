using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Modular.Engine;
using Modular.Server.Engine;
using Modular.Server.Http;
using Modular.Server.Protocol;

namespace Modular.Server.Endpoints;

/// <summary>POST /v1/completions: one or more prompts (text or token ids), n samples each, echo and logprobs.</summary>
internal sealed class CompletionsEndpoint(ServerContext server)
{
    public async Task HandleAsync(HttpContext context)
    {
        using var body = await server.ReadRequestAsync(context).ConfigureAwait(false);
        var (record, f, model) = (body.Record, body.Fields, body.Model);
        if (f.Has("suffix")) throw ApiException.BadField("suffix", "suffix: is not supported");
        bool addSpecial = f.Bool("add_special_tokens") ?? true;
        var prompts = PromptInputs.Read(f, "prompt", model.Tokenizer, addSpecial, server.Options.Limits.MaxBatchInputs, out var texts);
        var gen = SamplingBinder.Bind(f, chat: false, model.Tokenizer.VocabSize, server.Options.Limits, defaultMaxTokens: 16);
        bool echo = f.Bool("echo") ?? false;
        var sampling = gen.Sampling;
        // echo with logprobs reports the prompt tokens' logprobs too, so the engine must compute them.
        if (echo && sampling.Logprobs is int lp && (sampling.PromptLogprobs ?? -1) < lp) sampling = sampling with { PromptLogprobs = lp };
        var grammar = GuidedBinder.Factory(f, model.Guided, model.Tokenizer);
        var requests = new EngineRequest[prompts.Count];
        string id = Outputs.NewId("cmpl-");
        int promptTokens = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            string what = prompts.Count == 1 ? "prompt" : $"prompt[{i}]";
            int maxTokens = ContextWindow.Resolve(model.Engine.MaxModelLen, prompts[i].Length, gen.MaxTokensDefaulted ? null : sampling.MaxTokens, what, "prompt");
            if (gen.MaxTokensDefaulted) maxTokens = Math.Min(maxTokens, sampling.MaxTokens ?? maxTokens);
            requests[i] = new EngineRequest
            {
                RequestId = prompts.Count == 1 ? id : $"{id}-{i}",
                PromptTokenIds = prompts[i],
                Params = sampling with { MaxTokens = maxTokens },
                Priority = gen.Priority,
                CacheSalt = gen.CacheSalt,
                GrammarFactory = grammar,
            };
            promptTokens += prompts[i].Length;
        }
        ServerContext.EnsureAlive(model);
        using var ticket = server.Gate.Enter();
        record.PromptTokens = promptTokens;
        record.Stream = gen.Stream;
        using var activity = Observability.RequestTracing.StartRequest("completions", record.RequestId, model.Name);
        try
        {
            var run = new GenerationRun(model, server.Metrics, record);
            var shape = new Shape(model, id, Outputs.Now(), gen, sampling, echo, prompts, texts);
            if (gen.Stream) await StreamAsync(context, shape, requests, run).ConfigureAwait(false);
            else await RespondAsync(context, shape, requests, run).ConfigureAwait(false);
        }
        finally
        {
            Observability.RequestTracing.Finish(activity, record);
        }
    }

    private sealed record Shape(ServedModel Model, string Id, long Created, GenerationOptions Gen, Abstractions.SamplingParams Sampling, bool Echo, IReadOnlyList<int[]> Prompts, IReadOnlyList<string?> Texts)
    {
        /// <summary>The prompt as echoed: the text sent, or the decoded ids of a token prompt.</summary>
        public string EchoText(int p) => Texts[p] ?? Model.Tokenizer.Decode(Prompts[p]);
    }

    private static async Task RespondAsync(HttpContext context, Shape s, EngineRequest[] requests, GenerationRun run)
    {
        var finals = new RequestOutput?[requests.Length];
        try
        {
            await foreach (var (p, o) in run.RunAsync(requests, context.RequestAborted).ConfigureAwait(false))
                if (o.Finished) finals[p] = o;
        }
        catch (Exception e) when (Unwrap(e) is EngineRequestException er) { throw new ApiException(400, er.Message); }
        if (context.RequestAborted.IsCancellationRequested) return;
        int prompt = 0, completion = 0, cached = 0;
        foreach (var o in finals)
        {
            if (o is null) return; // cancelled
            if (o.Error is { } error) throw new ApiException(500, "generation failed: " + error);
            prompt += o.Usage.PromptTokens;
            completion += o.Usage.CompletionTokens;
            cached += o.Usage.CachedPromptTokens;
        }
        var record = ServerContext.Record(context);
        record.CompletionTokens = completion;
        record.CachedTokens = cached;
        var tok = s.Model.Tokenizer;
        await JsonResponse.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", s.Id);
            w.WriteString("object", "text_completion");
            w.WriteNumber("created", s.Created);
            w.WriteString("model", s.Model.Name);
            w.WriteStartArray("choices");
            for (int p = 0; p < finals.Length; p++)
            {
                var o = finals[p]!;
                string promptText = s.Echo ? s.EchoText(p) : "";
                foreach (var c in o.Outputs)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", p * s.Sampling.N + c.Index);
                    w.WriteString("text", promptText + c.Text);
                    if (s.Sampling.Logprobs is int topN && c.Logprobs is { } lps)
                    {
                        var lp = new CompletionLogprobs(0);
                        if (s.Echo) AddPrompt(lp, tok, s.Prompts[p], o, topN);
                        for (int i = 0; i < lps.Count; i++) lp.Add(tok, lps[i].TokenId, lps[i], topN);
                        w.WritePropertyName("logprobs");
                        lp.Write(w);
                    }
                    else w.WriteNull("logprobs");
                    w.WriteString("finish_reason", c.FinishReason ?? FinishReasons.Stop);
                    Outputs.WriteStopReason(w, c);
                    if (s.Gen.Sampling.PromptLogprobs is not null) PromptLogprobsWriter.Write(w, tok, o);
                    w.WriteEndObject();
                }
            }
            w.WriteEndArray();
            Outputs.WriteUsage(w, prompt, completion, cached);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static void AddPrompt(CompletionLogprobs lp, Tokenization.HfTokenizer tok, int[] prompt, RequestOutput o, int topN)
    {
        for (int i = 0; i < prompt.Length; i++)
            lp.Add(tok, prompt[i], o.PromptLogprobs is { } pl && i < pl.Count ? pl[i] : null, topN);
    }

    private static async Task StreamAsync(HttpContext context, Shape s, EngineRequest[] requests, GenerationRun run)
    {
        var sse = new SseStream(context);
        var record = ServerContext.Record(context);
        var tok = s.Model.Tokenizer;
        var tracker = new ChoiceTracker(requests.Length, s.Sampling.N);
        var finals = new RequestOutput?[requests.Length];
        try
        {
            await sse.FlushAsync().ConfigureAwait(false);
            await foreach (var (p, o) in run.RunAsync(requests, context.RequestAborted).ConfigureAwait(false))
            {
                if (o.Finished) finals[p] = o;
                foreach (var c in o.Outputs)
                {
                    int index = tracker.IndexOf(p, c);
                    var st = tracker[index];
                    bool first = st.SentText == 0 && st.SentLogprobs == 0 && !st.FinishSent;
                    bool echoNow = s.Echo && first;
                    bool newText = c.Text.Length > st.SentText;
                    int lpCount = c.Logprobs?.Count ?? 0;
                    bool newLogprobs = s.Sampling.Logprobs is not null && lpCount > st.SentLogprobs;
                    bool finishing = c.Finished && !st.FinishSent;
                    if (!echoNow && !newText && !newLogprobs && !finishing) continue;
                    string text = (echoNow ? s.EchoText(p) : "") + c.Text[st.SentText..];
                    CompletionLogprobs? lp = null;
                    if (s.Sampling.Logprobs is int topN && (newLogprobs || echoNow))
                    {
                        lp = new CompletionLogprobs(st.TextOffset);
                        if (echoNow) AddPrompt(lp, tok, s.Prompts[p], o, topN);
                        for (int i = st.SentLogprobs; i < lpCount; i++) lp.Add(tok, c.Logprobs![i].TokenId, c.Logprobs[i], topN);
                    }
                    st.TextOffset += text.Length;
                    st.SentText = c.Text.Length;
                    st.SentLogprobs = lpCount;
                    st.FinishSent |= c.Finished;
                    var usage = s.Gen.ContinuousUsage ? (o.Usage.PromptTokens, o.Usage.CompletionTokens) : ((int, int)?)null;
                    sse.Add(w =>
                    {
                        Header(w, s);
                        w.WriteStartArray("choices");
                        w.WriteStartObject();
                        w.WriteNumber("index", index);
                        w.WriteString("text", text);
                        if (lp is not null) { w.WritePropertyName("logprobs"); lp.Write(w); }
                        else w.WriteNull("logprobs");
                        if (finishing) w.WriteString("finish_reason", c.FinishReason); else w.WriteNull("finish_reason");
                        if (finishing) Outputs.WriteStopReason(w, c);
                        w.WriteEndObject();
                        w.WriteEndArray();
                        if (usage is var (pt, ct)) Outputs.WriteUsage(w, pt, ct, 0);
                        else if (s.Gen.IncludeUsage) w.WriteNull("usage");
                        w.WriteEndObject();
                    });
                }
                if (o.Finished && o.Error is { } error) sse.AddError(new ApiException(500, "generation failed: " + error));
                await sse.FlushAsync().ConfigureAwait(false);
            }
            int prompt = 0, completion = 0, cached = 0;
            foreach (var o in finals)
            {
                if (o is null) return; // the client left
                prompt += o.Usage.PromptTokens;
                completion += o.Usage.CompletionTokens;
                cached += o.Usage.CachedPromptTokens;
            }
            record.CompletionTokens = completion;
            record.CachedTokens = cached;
            if (s.Gen.IncludeUsage)
                sse.Add(w =>
                {
                    Header(w, s);
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    Outputs.WriteUsage(w, prompt, completion, cached);
                    w.WriteEndObject();
                });
            await sse.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (StreamFailures.IsClientGone(context, e))
        {
            record.Error = "client disconnected";
        }
        catch (Exception e) when (Unwrap(e) is EngineRequestException er)
        {
            sse.AddError(new ApiException(400, er.Message));
            await sse.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static void Header(Utf8JsonWriter w, Shape s)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", s.Created);
        w.WriteString("model", s.Model.Name);
    }

    private static Exception Unwrap(Exception e) =>
        e is System.Threading.Channels.ChannelClosedException { InnerException: { } inner } ? inner : e;
}
