using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Models;

namespace Modular.Server.Tests;

/// <summary>The official OpenAI .NET SDK against the real server: chat, streaming, logprobs, embeddings, models.</summary>
public sealed class OpenAiSdkTests(ServerFixture server)
{
    private OpenAIClientOptions Options => new() { Endpoint = new Uri(server.BaseUri, "v1") };
    private ChatClient Chat => new(ServerFixture.ModelName, new ApiKeyCredential(ServerFixture.ApiKey), Options);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Chat_greedy_answer_has_consistent_usage_and_matches_tokenize()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };
        var messages = new List<ChatMessage> { new UserChatMessage("Speak, speak.") };
        ChatCompletion a = await Chat.CompleteChatAsync(messages, options, Ct);
        ChatCompletion b = await Chat.CompleteChatAsync(messages, options, Ct);
        Assert.Equal(ChatMessageRole.Assistant, a.Role);
        Assert.Equal(a.Content[0].Text, b.Content[0].Text); // greedy is deterministic
        Assert.InRange(a.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(a.Usage.InputTokenCount + a.Usage.OutputTokenCount, a.Usage.TotalTokenCount);
        Assert.True(a.FinishReason is ChatFinishReason.Stop or ChatFinishReason.Length);
        if (a.Usage.OutputTokenCount == 12) Assert.Equal(ChatFinishReason.Length, a.FinishReason);
        Assert.Equal(ServerFixture.ModelName, a.Model);
        // The chat template rendering of this conversation is 17 tokens (transformers' reference in golden.json).
        Assert.Equal(17, a.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Streaming_chat_concatenates_to_the_non_streamed_answer()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 };
        var messages = new List<ChatMessage> { new SystemChatMessage("You are a player."), new UserChatMessage("Who is there?") };
        ChatCompletion whole = await Chat.CompleteChatAsync(messages, options, Ct);
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var u in Chat.CompleteChatStreamingAsync(messages, options, Ct))
        {
            updates++;
            foreach (var part in u.ContentUpdate) text.Append(part.Text);
            finish ??= u.FinishReason;
            usage ??= u.Usage;
        }
        Assert.True(updates >= 3, $"only {updates} updates");
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage!.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Logprobs_cover_every_token_and_greedy_picks_the_top_one()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage("Long live the king!")], options, Ct);
        var lps = c.ContentTokenLogProbabilities;
        Assert.Equal(c.Usage.OutputTokenCount, lps.Count);
        foreach (var lp in lps)
        {
            Assert.True(lp.LogProbability <= 0);
            Assert.Equal(3, lp.TopLogProbabilities.Count);
            for (int i = 1; i < 3; i++) Assert.True(lp.TopLogProbabilities[i - 1].LogProbability >= lp.TopLogProbabilities[i].LogProbability);
            Assert.Equal(lp.TopLogProbabilities[0].LogProbability, lp.LogProbability, 4);
        }
    }

    [Fact]
    public async Task Embeddings_are_unit_vectors_and_base64_matches_float()
    {
        var client = new EmbeddingClient(ServerFixture.ModelName, new ApiKeyCredential(ServerFixture.ApiKey), Options);
        OpenAIEmbedding a = await client.GenerateEmbeddingAsync("To be, or not to be", cancellationToken: Ct);
        OpenAIEmbedding again = await client.GenerateEmbeddingAsync("To be, or not to be", cancellationToken: Ct);
        OpenAIEmbedding other = await client.GenerateEmbeddingAsync("Now is the winter of our discontent", cancellationToken: Ct);
        var v = a.ToFloats().ToArray();
        Assert.Equal(192, v.Length);
        double norm = Math.Sqrt(v.Sum(x => (double)x * x));
        Assert.Equal(1.0, norm, 4);
        Assert.Equal(v, again.ToFloats().ToArray());
        double cos = v.Zip(other.ToFloats().ToArray(), (x, y) => (double)x * y).Sum();
        Assert.True(cos < 0.9999, $"different texts gave the same embedding (cos {cos})");

        // The SDK asks for base64; the float list of the raw API must hold the same numbers.
        var json = await Api.OkAsync(server.Http, "v1/embeddings", new { model = ServerFixture.ModelName, input = "To be, or not to be", encoding_format = "float" });
        var floats = json["data"]![0]!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        Assert.Equal(v, floats);
        Assert.Equal(json["usage"]!["prompt_tokens"]!.GetValue<int>(), json["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Mean_pooling_differs_from_last_token_pooling()
    {
        var last = await Api.OkAsync(server.Http, "v1/embeddings", new { input = new[] { "Good night", "sweet prince" }, pooling = "last" });
        var mean = await Api.OkAsync(server.Http, "v1/embeddings", new { input = new[] { "Good night", "sweet prince" }, pooling = "mean" });
        Assert.Equal(2, last["data"]!.AsArray().Count);
        Assert.Equal(1, mean["data"]![1]!["index"]!.GetValue<int>());
        var l = last["data"]![0]!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        var m = mean["data"]![0]!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        Assert.NotEqual(l, m);
        Assert.Equal(1.0, Math.Sqrt(m.Sum(x => (double)x * x)), 4);
    }

    [Fact]
    public async Task Models_lists_the_served_model()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(ServerFixture.ApiKey), Options);
        OpenAIModelCollection models = await client.GetModelsAsync(Ct);
        var m = Assert.Single(models);
        Assert.Equal(ServerFixture.ModelName, m.Id);
        Assert.Equal("modular", m.OwnedBy);
    }

    [Fact]
    public async Task Wrong_api_key_surfaces_as_a_401_in_the_sdk()
    {
        var bad = new ChatClient(ServerFixture.ModelName, new ApiKeyCredential("sk-wrong"), Options);
        var e = await Assert.ThrowsAsync<ClientResultException>(() => bad.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Ct));
        Assert.Equal(401, e.Status);
    }
}
