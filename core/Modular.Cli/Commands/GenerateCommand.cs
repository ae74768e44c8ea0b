using System.CommandLine;
using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Engine;
using Modular.Templates;
using Modular.Tokenization;
using Spectre.Console;

namespace Modular.Cli.Commands;

/// <summary><c>modular generate</c>: one prompt streamed to stdout, or a JSONL batch job.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var backend = CliOptions.Backend();
        var plugins = CliOptions.Plugins();
        var threads = CliOptions.Threads();
        var quantization = CliOptions.Quantization();
        var prompt = new Option<string?>("--prompt") { Description = "text to continue (or the user message with --chat)" };
        var chat = new Option<bool>("--chat") { Description = "wrap --prompt as a user message with the model's chat template" };
        var maxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { DefaultValueFactory = _ => 0.8f };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 0 };
        var seed = new Option<long?>("--seed");
        var input = new Option<string?>("--input") { Description = "JSONL of {\"prompt\": ..., sampling fields} for a batch job" };
        var output = new Option<string?>("--output") { Description = "JSONL results of --input" };
        var kvDType = CliOptions.KvCacheDType();
        var cmd = new Command("generate", "Generate text with the bundled or a given model")
        { model, backend, plugins, threads, quantization, prompt, chat, maxTokens, temperature, topP, topK, seed, input, output, kvDType };
        cmd.SetAction(async (r, ct) =>
        {
            using var runtime = CliOptions.OpenRuntime(r.GetValue(plugins), r.GetValue(backend), r.GetValue(threads));
            var dir = r.GetValue(model) ?? CliOptions.DefaultModel();
            var loaded = CliOptions.LoadModel(dir, runtime, quantization: r.GetValue(quantization));
            using var llm = LLM.Create(loaded, HfTokenizer.FromDirectory(dir), new EngineOptions { KvCacheDType = r.GetValue(kvDType)! }, ownsModel: true);
            var sampling = new SamplingParams
            {
                MaxTokens = r.GetValue(maxTokens), Temperature = r.GetValue(temperature), TopP = r.GetValue(topP),
                TopK = r.GetValue(topK), Seed = r.GetValue(seed),
            };
            if (sampling.Validate(loaded.Config.VocabSize) is string bad) throw new ArgumentException(bad);
            if (r.GetValue(input) is string inPath)
            {
                var outPath = r.GetValue(output) ?? throw new ArgumentException("--input needs --output");
                return await RunBatch(llm, inPath, outPath, sampling, ct);
            }
            var text = r.GetValue(prompt) ?? throw new ArgumentException("give --prompt TEXT (or --input FILE --output FILE)");
            var request = new EngineRequest { RequestId = llm.NextId(), Prompt = text, Params = sampling };
            if (r.GetValue(chat)) request = request with { Prompt = RenderChat(llm.Tokenizer!, text), AddSpecialTokens = false };
            else Console.Write(text);
            await foreach (var o in llm.Engine.GenerateAsync(request, ct))
            {
                if (o.Error is not null) { Console.Error.WriteLine($"\nerror: {o.Error}"); return 1; }
                Console.Write(o.Outputs[0].TextDelta);
                if (o.Finished) Console.Error.WriteLine($"\n[{o.Outputs[0].FinishReason}: {o.Usage.PromptTokens} prompt + {o.Usage.CompletionTokens} generated tokens in {o.Timings.FinishSeconds:F2} s]");
            }
            Console.WriteLine();
            return 0;
        });
        return cmd;
    }

    private static string RenderChat(HfTokenizer tokenizer, string user)
    {
        var src = tokenizer.ChatTemplate ?? throw new ArgumentException("this model has no chat template; drop --chat");
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = user });
        return ChatTemplate.Parse(src).Apply(messages, addGenerationPrompt: true, tokenizer.BosToken, tokenizer.EosToken);
    }

    private static async Task<int> RunBatch(LLM llm, string input, string output, SamplingParams defaults, CancellationToken ct)
    {
        BatchProgress done;
        if (Console.IsErrorRedirected)
            done = await BatchJob.RunAsync(llm, input, output, null, defaults, ct);
        else
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            done = default;
            await console.Progress().StartAsync(async ctx =>
            {
                var task = ctx.AddTask("generating");
                var progress = new Progress<BatchProgress>(p => { task.MaxValue = Math.Max(1, p.Total); task.Value = p.Completed; });
                done = await BatchJob.RunAsync(llm, input, output, progress, defaults, ct);
            });
        }
        Console.Error.WriteLine($"{done.Completed}/{done.Total} prompts, {done.GeneratedTokens} tokens generated -> {output}");
        return 0;
    }
}
