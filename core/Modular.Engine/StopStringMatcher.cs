using System.Text;

namespace Modular.Engine;

/// <summary>
/// Releases generated text so that it never contains a stop string, even one split across tokens: text that could
/// still be the start of a stop string is held back until the next token decides it.
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private readonly bool _includeStop;
    private readonly int _maxStopLength;
    private readonly StringBuilder _text = new();
    private string? _released;

    /// <summary>A matcher for <paramref name="stops"/>; with <paramref name="includeStop"/> the matched string is kept.</summary>
    public StopStringMatcher(IReadOnlyList<string> stops, bool includeStop)
    {
        _stops = stops;
        _includeStop = includeStop;
        foreach (var s in stops) _maxStopLength = Math.Max(_maxStopLength, s.Length);
    }

    /// <summary>Characters released to the caller so far.</summary>
    public int ReleasedLength { get; private set; }

    /// <summary>The released text.</summary>
    public string Released => _released ??= _text.ToString(0, ReleasedLength);

    /// <summary>
    /// Appends newly decoded text. Returns the stop string found (the release point then sits just before it, or
    /// after it when included), or null. With <paramref name="checkStops"/> false (min_tokens not reached) the text
    /// is released without matching.
    /// </summary>
    public string? Append(string delta, bool checkStops)
    {
        if (delta.Length == 0 && ReleasedLength == _text.Length) return null;
        int searchFrom = Math.Max(0, ReleasedLength - _maxStopLength + 1);
        _text.Append(delta);
        if (_stops.Count == 0 || !checkStops)
        {
            Release(_text.Length);
            return null;
        }
        string window = _text.ToString(searchFrom, _text.Length - searchFrom);
        int best = -1; string? hit = null;
        foreach (var s in _stops)
        {
            if (s.Length == 0) continue;
            int i = window.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) { best = i; hit = s; }
        }
        if (hit is not null)
        {
            int end = searchFrom + best + (_includeStop ? hit.Length : 0);
            _text.Length = end;
            Release(end);
            return hit;
        }
        Release(_text.Length - HeldBack(window));
        return null;
    }

    /// <summary>Releases everything held back (the sequence ended for another reason).</summary>
    public void Flush() => Release(_text.Length);

    // Length of the longest suffix that is a proper prefix of some stop string.
    private int HeldBack(string window)
    {
        int held = 0;
        foreach (var s in _stops)
            for (int len = Math.Min(s.Length - 1, window.Length); len > held; len--)
                if (string.CompareOrdinal(window, window.Length - len, s, 0, len) == 0) { held = len; break; }
        return held;
    }

    private void Release(int upTo)
    {
        if (upTo < ReleasedLength) upTo = ReleasedLength;
        if (upTo != ReleasedLength) _released = null;
        ReleasedLength = upTo;
    }
}
