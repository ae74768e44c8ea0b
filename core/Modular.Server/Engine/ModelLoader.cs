using Modular.Engine;
using Modular.Hosting;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Tokenization;

namespace Modular.Server.Engine;

/// <summary>Loads the served models onto one backend and starts nothing: engines start with the host.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Loads each model in <paramref name="sources"/> on <paramref name="runtime"/>'s backend with its own KV pool of
    /// <see cref="EngineOptions.KvCacheMemory"/> bytes (or <see cref="EngineOptions.NumBlocks"/> blocks).
    /// </summary>
    public static List<ServedModel> Load(IReadOnlyList<ModelSource> sources, PluginRuntime runtime, EngineOptions options)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in sources)
            if (!names.Add(s.Name)) throw new ArgumentException($"--model: the name \"{s.Name}\" is used twice; give one of them NAME=DIR");
        var loaded = new List<ServedModel>();
        try
        {
            foreach (var s in sources) loaded.Add(LoadOne(s, runtime, options));
            return loaded;
        }
        catch
        {
            foreach (var m in loaded) m.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private static ServedModel LoadOne(ModelSource source, PluginRuntime runtime, EngineOptions options)
    {
        var tokenizer = HfTokenizer.FromDirectory(source.Directory);
        var model = source.DummyShape is string shape
            ? LoadDummy(shape, runtime, options.MaxModelLen)
            : TransformerModel.Load(source.Directory, runtime.Backend, runtime.Quantizer, null, options.MaxModelLen);
        ModelRunner? runner = null;
        try
        {
            int numBlocks = KvCacheSizing.NumBlocks(model, options, message => Console.Error.WriteLine($"[modular] {source.Name}: {message}"));
            var kvDType = KvCacheDTypes.Resolve(options.KvCacheDType, model.Backend);
            runner = ModelRunner.Create(model, numBlocks, options.BlockSize, kvDType);
            var core = new EngineCore(runner, tokenizer, options);
            var embedder = new Embedder(model, core.MaxModelLen, kvDType);
            var engine = new LlmServingEngine(new LLMEngine(core));
            return new ServedModel(source.Name, Path.GetFullPath(source.Directory), tokenizer, engine, embedder, new Owned(runner, model), runtime.GuidedDecoder);
        }
        catch
        {
            runner?.Dispose();
            model.Dispose();
            throw;
        }
    }

    private static TransformerModel LoadDummy(string shape, PluginRuntime runtime, int? maxModelLen)
    {
        return DummyWeights.LoadModel(ModelShapes.Config(shape), $"{shape} (dummy weights)", runtime.Backend, maxModelLen);
    }

    private sealed class Owned(ModelRunner runner, TransformerModel model) : IDisposable
    {
        public void Dispose()
        {
            runner.Dispose();
            model.Dispose();
        }
    }
}
