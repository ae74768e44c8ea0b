using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Hardening.Tests.Fuzz;
using Modular.Hardening.Tests.Http;
using Modular.Hosting;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Testing;

namespace Modular.Hardening.Tests.Trust;

/// <summary>No model file is executed: remote code and pickle files beside a checkpoint are ignored; a pickle-only checkpoint is refused.</summary>
public sealed class CheckpointTrustTests
{
    private static FuzzFiles CopyOfBard()
    {
        var files = new FuzzFiles();
        foreach (var f in Directory.GetFiles(Fixtures.BundledModel)) File.Copy(f, Path.Combine(files.Root, Path.GetFileName(f)));
        return files;
    }

    [Fact]
    public void AutoMapAndPickleBeside_LoadsSafetensorsOnly_RunsNothing()
    {
        using var files = CopyOfBard();
        var marker = Path.Combine(files.Root, "PWNED");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(files.Root, "config.json")))!.AsObject();
        config["auto_map"] = new JsonObject { ["AutoModelForCausalLM"] = "modeling_evil.EvilForCausalLM", ["AutoConfig"] = "modeling_evil.EvilConfig" };
        File.WriteAllText(Path.Combine(files.Root, "config.json"), config.ToJsonString());
        File.WriteAllText(Path.Combine(files.Root, "modeling_evil.py"), $"open({System.Text.Json.JsonSerializer.Serialize(marker)}, 'w').write('ran')\n");
        // A pickle opcode stream that would call os.system if unpickled; garbage as weights.
        File.WriteAllBytes(Path.Combine(files.Root, "pytorch_model.bin"), "\x80\x04cos\nsystem\n(S'touch PWNED'\ntR."u8.ToArray());

        var folder = Path.Combine(files.Root, "plugins");
        Directory.CreateDirectory(folder);
        using var runtime = PluginRuntime.Open(TestServer.WritePluginsJson(folder, "cpu", null), "cpu", new BackendOptions(Threads: 2));
        using var model = TransformerModel.Load(files.Root, runtime.Backend);
        Assert.Equal(2048, model.Config.VocabSize);
        Assert.False(File.Exists(marker), "a checkpoint file was executed");
        using var ck = Checkpoint.Open(files.Root);
        Assert.All(ck.Names, n => Assert.EndsWith("model.safetensors", ck.File(n).Path));
    }

    [Fact]
    public void PickleOnlyCheckpoint_RefusedWithClearMessage()
    {
        using var files = CopyOfBard();
        File.Move(Path.Combine(files.Root, "model.safetensors"), Path.Combine(files.Root, "pytorch_model.bin"));
        File.Delete(Path.Combine(files.Root, "golden.safetensors")); // a lone *.safetensors would be taken as the weights
        var e = Assert.Throws<ModelFileException>(() => Checkpoint.Open(files.Root));
        Assert.Contains("only safetensors checkpoints are read", e.Message);
        Assert.Contains(".bin/pickle files are never executed", e.Message);
        Assert.Contains(files.Root, e.Message);
    }
}
