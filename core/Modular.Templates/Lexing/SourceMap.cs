namespace Modular.Templates.Lexing;

/// <summary>Turns source offsets into 1-based line and column numbers; built once per template, used only on errors.</summary>
internal sealed class SourceMap
{
    private readonly int[] _lineStarts;

    public SourceMap(string source)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < source.Length; i++)
            if (source[i] == '\n') starts.Add(i + 1);
        _lineStarts = starts.ToArray();
    }

    public (int Line, int Column) Locate(int offset)
    {
        int idx = Array.BinarySearch(_lineStarts, offset);
        if (idx < 0) idx = ~idx - 1;
        if (idx < 0) idx = 0;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }
}
