using System.Text.Json;

namespace Modular.Server.Protocol;

/// <summary>
/// Reads JSON text that may still be growing (a model's output so far): where a value ends, if it has ended yet,
/// and the top-level members of an object. Never throws; malformed text reads as "not (yet) recognised".
/// </summary>
internal static class JsonPrefix
{
    /// <summary>A member of the top-level object: its name and where its value starts and ends (-1: not yet).</summary>
    public readonly record struct Member(string Name, int ValueStart, int ValueEnd);

    /// <summary>Index of the first non-whitespace character at or after <paramref name="i"/> (or the length).</summary>
    public static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r') i++;
        return i;
    }

    /// <summary>
    /// The index just past the JSON value starting at <paramref name="start"/>, or -1 when the text ends first (or
    /// is not JSON there). A bare scalar running to the end of the text only counts as complete when
    /// <paramref name="final"/> says no more text will come.
    /// </summary>
    public static int ValueEnd(string s, int start, bool final)
    {
        if (start >= s.Length) return -1;
        char c = s[start];
        if (c == '"') return StringEnd(s, start);
        if (c is '{' or '[')
        {
            int depth = 0;
            for (int i = start; i < s.Length; i++)
            {
                char ch = s[i];
                if (ch == '"')
                {
                    int e = StringEnd(s, i);
                    if (e < 0) return -1;
                    i = e - 1;
                }
                else if (ch is '{' or '[') depth++;
                else if (ch is '}' or ']' && --depth == 0) return i + 1;
            }
            return -1;
        }
        int j = start;
        while (j < s.Length && (char.IsAsciiLetterOrDigit(s[j]) || s[j] is '-' or '+' or '.')) j++;
        if (j == start) return -1;
        return j < s.Length || final ? j : -1;
    }

    /// <summary>Index just past the closing quote of the string starting at <paramref name="start"/>, or -1.</summary>
    public static int StringEnd(string s, int start)
    {
        for (int i = start + 1; i < s.Length; i++)
        {
            if (s[i] == '\\') i++;
            else if (s[i] == '"') return i + 1;
        }
        return -1;
    }

    /// <summary>
    /// The members of the object that starts <paramref name="s"/> (after whitespace), as far as the text goes; the
    /// last one may be unfinished (ValueEnd -1). Empty when the text does not start an object.
    /// </summary>
    public static List<Member> TopLevelMembers(string s, bool final)
    {
        var members = new List<Member>();
        int i = SkipWhitespace(s, 0);
        if (i >= s.Length || s[i] != '{') return members;
        i++;
        while (true)
        {
            i = SkipWhitespace(s, i);
            if (i >= s.Length || s[i] != '"') return members;
            int keyEnd = StringEnd(s, i);
            if (keyEnd < 0 || Decode(s[i..keyEnd]) is not { } name) return members;
            i = SkipWhitespace(s, keyEnd);
            if (i >= s.Length || s[i] != ':') return members;
            int valueStart = SkipWhitespace(s, i + 1);
            if (valueStart >= s.Length) return members;
            int valueEnd = ValueEnd(s, valueStart, final);
            members.Add(new Member(name, valueStart, valueEnd));
            if (valueEnd < 0) return members;
            i = SkipWhitespace(s, valueEnd);
            if (i >= s.Length || s[i] != ',') return members;
            i++;
        }
    }

    /// <summary>The string a complete JSON string literal stands for, or null when it is not valid.</summary>
    public static string? Decode(string literal)
    {
        try { return JsonSerializer.Deserialize<string>(literal); }
        catch (JsonException) { return null; }
    }
}
