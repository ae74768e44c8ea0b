using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Python's and Jinja's capitalisation rules.</summary>
internal static class TextCase
{
    /// <summary>str.capitalize / the capitalize filter: first character upper, the rest lower.</summary>
    public static string Capitalize(string s)
        => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1).ToLowerInvariant();

    /// <summary>str.title: a letter after a non-letter is upper-cased, every other letter lower-cased.</summary>
    public static string PythonTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevLetter = false;
        foreach (char c in s)
        {
            sb.Append(prevLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Jinja's title filter: words are split at whitespace, '-', and opening brackets; each word's first character is
    /// upper-cased and the rest lower-cased.
    /// </summary>
    public static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }
        return sb.ToString();
    }
}
