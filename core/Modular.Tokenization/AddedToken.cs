namespace Modular.Tokenization;

/// <summary>
/// An entry of tokenizer.json's <c>added_tokens</c>: text matched verbatim before the model runs.
/// </summary>
/// <param name="Id">Token id.</param>
/// <param name="Content">The literal text.</param>
/// <param name="Special">Control token: skipped by <c>skip_special_tokens</c>, contributes no bytes to constrained output.</param>
/// <param name="LeftStrip">Absorbs whitespace to its left.</param>
/// <param name="RightStrip">Absorbs whitespace to its right.</param>
/// <param name="SingleWord">Only matches when not inside a word.</param>
/// <param name="Normalized">Matched against normalized text in Hugging Face (see <see cref="AddedTokenMatcher"/>).</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool LeftStrip, bool RightStrip, bool SingleWord, bool Normalized);
