using System.CommandLine;
using Modular.Tokenization;

namespace Modular.Cli.Commands;

/// <summary><c>modular verify-tokenizer DIR GOLDENS.json NAME</c>: exact ids and decodes against HF goldens.</summary>
internal static class VerifyTokenizerCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "folder with tokenizer.json (or .gz) and tokenizer_config.json" };
        var goldens = new Argument<string>("goldens") { Description = "goldens.json" };
        var name = new Argument<string>("name") { Description = "entry of goldens.json (llama3_1, qwen3, llama2, ...)" };
        var cmd = new Command("verify-tokenizer", "Check a tokenizer against reference encodings") { dir, goldens, name };
        cmd.SetAction(r =>
        {
            var report = TokenizerGoldens.Verify(r.GetValue(dir)!, r.GetValue(goldens)!, r.GetValue(name)!);
            Console.WriteLine(report.ToString());
            return report.Passed ? 0 : 1;
        });
        return cmd;
    }
}
