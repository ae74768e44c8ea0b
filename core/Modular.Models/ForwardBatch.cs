using Modular.Abstractions;

namespace Modular.Models;

/// <summary>
/// One flattened engine step as the model sees it: the new tokens of every scheduled sequence back to back,
/// their positions, the paged-attention metadata, and which rows need logits.
/// </summary>
public sealed class ForwardBatch
{
    /// <summary>[T] token ids of the new tokens.</summary>
    public required int[] TokenIds { get; init; }

    /// <summary>[T] absolute position of each new token in its sequence.</summary>
    public required int[] Positions { get; init; }

    /// <summary>Block tables, slot mapping and sequence boundaries.</summary>
    public required AttentionMetadata Attention { get; init; }

    /// <summary>Rows of T whose logits are returned, in order (usually the last token of each sequence).</summary>
    public required int[] LogitRows { get; init; }
}
