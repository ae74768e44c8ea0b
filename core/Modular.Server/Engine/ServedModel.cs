using Modular.Abstractions;
using Modular.Templates;
using Modular.Tokenization;

namespace Modular.Server.Engine;

/// <summary>One model the server answers for: its name in requests, tokenizer, chat template, engine and embedder.</summary>
public sealed class ServedModel : IAsyncDisposable
{
    private readonly Lazy<ChatTemplate?> _template;
    private readonly IDisposable? _owned;

    /// <param name="name">Name clients put in <c>model</c>.</param>
    /// <param name="directory">Checkpoint folder (reported as the model's root).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="engine">The running engine.</param>
    /// <param name="embedder">Embedding passes, or null when the model cannot embed.</param>
    /// <param name="owned">Disposed with the model (weights, plugin runtime), or null.</param>
    /// <param name="guided">Structured-output compiler (the guided plugin), or null.</param>
    public ServedModel(string name, string directory, HfTokenizer tokenizer, IServingEngine engine, Embedder? embedder, IDisposable? owned = null,
        IGuidedDecoder? guided = null)
    {
        Guided = guided;
        Name = name;
        Directory = directory;
        Tokenizer = tokenizer;
        Engine = engine;
        Embedder = embedder;
        _owned = owned;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _template = new Lazy<ChatTemplate?>(() => tokenizer.ChatTemplate is { } src ? ChatTemplate.Parse(src) : null);
    }

    /// <summary>Name used in requests and responses.</summary>
    public string Name { get; }
    /// <summary>Checkpoint folder.</summary>
    public string Directory { get; }
    /// <summary>Tokenizer.</summary>
    public HfTokenizer Tokenizer { get; }
    /// <summary>Generation engine.</summary>
    public IServingEngine Engine { get; }
    /// <summary>Embedding passes, or null.</summary>
    public Embedder? Embedder { get; }
    /// <summary>Structured-output compiler, or null when no guided plugin is loaded.</summary>
    public IGuidedDecoder? Guided { get; }
    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }
    /// <summary>The parsed chat template, or null when the tokenizer has none. Parsed on first use; a parse error throws.</summary>
    public ChatTemplate? ChatTemplate => _template.Value;

    /// <summary>Stops the engine and frees the embedder and owned resources.</summary>
    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync().ConfigureAwait(false);
        Embedder?.Dispose();
        _owned?.Dispose();
    }
}
