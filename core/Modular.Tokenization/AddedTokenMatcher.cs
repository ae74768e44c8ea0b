namespace Modular.Tokenization;

/// <summary>
/// Splits text into added-token matches and the plain segments between them, the way Hugging Face's
/// AddedVocabulary does: leftmost-longest matching, with <c>lstrip</c>/<c>rstrip</c> absorbing adjacent whitespace
/// and <c>single_word</c> rejecting matches inside words.
/// </summary>
/// <remarks>
/// Hugging Face matches <c>normalized: true</c> tokens against the normalized text and the others against the raw
/// text. The normalizers we support (NFC, Prepend/Replace of spaces) leave added-token text such as <c>&lt;think&gt;</c>
/// unchanged, so a single pass over the raw text gives the same splits and avoids normalizing twice.
/// </remarks>
internal sealed class AddedTokenMatcher
{
    private sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public int TokenIndex = -1;
    }

    private readonly AddedToken[] _tokens;
    private readonly Node _root = new();
    private readonly bool[] _isFirstChar = new bool[char.MaxValue + 1];

    public AddedTokenMatcher(IReadOnlyList<AddedToken> tokens)
    {
        _tokens = [.. tokens];
        for (int t = 0; t < _tokens.Length; t++)
        {
            string content = _tokens[t].Content;
            if (content.Length == 0) continue;
            _isFirstChar[content[0]] = true;
            var node = _root;
            foreach (char c in content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.TokenIndex = t;
        }
    }

    /// <summary>One piece of the split: either an added token (<see cref="TokenId"/> ≥ 0) or plain text.</summary>
    public readonly record struct Piece(int Start, int Length, int TokenId);

    /// <summary>Appends the pieces of <paramref name="text"/> in order; plain pieces may be empty and are then omitted.</summary>
    public void Split(string text, List<Piece> pieces)
    {
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (!_isFirstChar[text[i]] || !TryMatchAt(text, i, out int tokenIndex, out int end))
            {
                i++;
                continue;
            }
            var token = _tokens[tokenIndex];
            int start = i;
            if (token.LeftStrip)
                while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RightStrip)
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) pieces.Add(new Piece(plainStart, start - plainStart, -1));
            pieces.Add(new Piece(start, end - start, token.Id));
            i = plainStart = end;
        }
        if (plainStart < text.Length) pieces.Add(new Piece(plainStart, text.Length - plainStart, -1));
    }

    private bool TryMatchAt(string text, int at, out int tokenIndex, out int end)
    {
        tokenIndex = -1;
        end = at;
        var node = _root;
        for (int j = at; j < text.Length; j++)
        {
            if (node.Children is null || !node.Children.TryGetValue(text[j], out var child)) break;
            node = child;
            if (node.TokenIndex >= 0 && (!_tokens[node.TokenIndex].SingleWord || IsWordBoundaryMatch(text, at, j + 1)))
            {
                tokenIndex = node.TokenIndex;
                end = j + 1;
            }
        }
        return tokenIndex >= 0;
    }

    // A single_word token must not be glued to word characters on either side.
    private static bool IsWordBoundaryMatch(string text, int start, int end)
    {
        bool leftOk = start == 0 || !char.IsLetterOrDigit(text[start - 1]) && text[start - 1] != '_';
        bool rightOk = end == text.Length || !char.IsLetterOrDigit(text[end]) && text[end] != '_';
        return leftOk && rightOk;
    }
}
