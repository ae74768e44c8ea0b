using Modular.Abstractions;

namespace Modular.Models;

/// <summary>
/// Runs a loaded transformer on a backend over the paged KV cache: one call per engine step, any mix of prefill
/// chunks and decode tokens. Owns the KV cache. Not thread-safe: the engine thread is its only caller.
/// </summary>
public sealed partial class ModelRunner : IDisposable
{
    /// <summary>The model's configuration.</summary>
    public ModelConfig Config => Model.Config;

    /// <summary>The loaded weights.</summary>
    public TransformerModel Model { get; }

    /// <summary>The backend the model runs on.</summary>
    public IBackend Backend { get; }

    /// <summary>The paged KV cache.</summary>
    public KvCache Cache { get; }

    /// <summary>Vocabulary size (columns of the logits).</summary>
    public int VocabSize => Config.VocabSize;

    /// <summary>Hidden size (columns of <see cref="ExecuteHidden"/>'s output).</summary>
    public int HiddenSize => Config.HiddenSize;
}
