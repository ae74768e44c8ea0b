using System.Text;
using Modular.Engine;

namespace Modular.Server.Protocol;

/// <summary>A piece of tool-call output: the call's header (id and name) or more of its arguments text.</summary>
/// <param name="Index">The call's position in tool_calls.</param>
/// <param name="Id">Call id (header only).</param>
/// <param name="Name">Function name (header only).</param>
/// <param name="Arguments">Arguments text added (may be empty on a header).</param>
internal readonly record struct ToolCallDelta(int Index, string? Id, string? Name, string Arguments);

/// <summary>What one update of a sample adds to the message: content text and tool-call pieces.</summary>
internal sealed class MessageDelta
{
    public StringBuilder Content { get; } = new();
    public List<ToolCallDelta> Calls { get; } = new();
    public bool IsEmpty => Content.Length == 0 && Calls.Count == 0;
}

/// <summary>
/// Splits one sample's growing text into content and tool calls as it streams, for one tool choice. Fed the whole
/// text so far at each update, it returns only what is new; the non-streamed response feeds it the final text
/// once, so both paths give the same message. Modes:
/// <list type="bullet">
/// <item>named: the text is the arguments; the header goes first, then arguments as they grow.</item>
/// <item>required: the text is <c>{"name":..., "arguments":{...}}</c>; the header once the name is whole, then
/// the arguments value's text as it grows.</item>
/// <item>auto: content streams until a tool-call form begins (held from there, with any suffix that may begin
/// <c>&lt;tool_call&gt;</c>); at the end the held text becomes tool calls if it parses, else content.</item>
/// </list>
/// </summary>
internal sealed class ToolCallStream(ChatTools tools)
{
    private int _sentContent;
    private bool _holding;
    private bool _headerSent;
    private int _sentArguments;
    private bool _argumentsComplete;
    private int _calls;

    /// <summary>True once tool calls were emitted (the finish reason becomes "tool_calls").</summary>
    public bool CalledTools => _calls > 0;

    /// <summary>The finish reason to report: "tool_calls" when the sample ended normally with whole calls.</summary>
    public string FinishReason(string engineReason) =>
        engineReason == FinishReasons.Stop && CalledTools && (tools.Mode == ToolChoiceMode.Auto || _argumentsComplete) ? "tool_calls" : engineReason;

    /// <summary>What <paramref name="text"/> (the sample's whole text so far) adds; <paramref name="final"/> on the last update.</summary>
    public MessageDelta Update(string text, bool final)
    {
        var d = new MessageDelta();
        switch (tools.Mode)
        {
            case ToolChoiceMode.Named: Named(text, final, d); break;
            case ToolChoiceMode.Required: Required(text, final, d); break;
            default: Auto(text, final, d); break;
        }
        return d;
    }

    private void Named(string text, bool final, MessageDelta d)
    {
        if (!_headerSent) Header(d, tools.Named!.Name);
        if (text.Length > _sentArguments) d.Calls.Add(new ToolCallDelta(0, null, null, text[_sentArguments..]));
        _sentArguments = text.Length;
        if (!final) return;
        int end = JsonPrefix.ValueEnd(text, JsonPrefix.SkipWhitespace(text, 0), final: true);
        _argumentsComplete = end > 0 && JsonPrefix.SkipWhitespace(text, end) == text.Length;
    }

    private void Required(string text, bool final, MessageDelta d)
    {
        string? name = null;
        JsonPrefix.Member? args = null;
        foreach (var m in JsonPrefix.TopLevelMembers(text, final))
        {
            if (m.Name == "name" && m.ValueEnd > 0) name = JsonPrefix.Decode(text[m.ValueStart..m.ValueEnd]);
            else if (m.Name == "arguments") args = m;
        }
        if (!_headerSent && (name is null || args is null || tools.Find(name) is null))
        {
            // Never became a call (cut off early): whatever was written is the content.
            if (final && text.Length > _sentContent) { d.Content.Append(text[_sentContent..]); _sentContent = text.Length; }
            return;
        }
        if (!_headerSent) Header(d, name!);
        var a = args!.Value;
        // An unfinished object or array value grows only inside itself; an unfinished scalar is held whole.
        int limit = a.ValueEnd > 0 ? a.ValueEnd : text[a.ValueStart] is '{' or '[' ? text.Length : a.ValueStart;
        int from = a.ValueStart + _sentArguments;
        if (limit > from) d.Calls.Add(new ToolCallDelta(0, null, null, text[from..limit]));
        _sentArguments = Math.Max(_sentArguments, limit - a.ValueStart);
        if (final) _argumentsComplete = a.ValueEnd > 0;
    }

    private void Auto(string text, bool final, MessageDelta d)
    {
        if (final)
        {
            if (ToolCallParser.Parse(text, tools) is { } parsed)
            {
                if (parsed.ContentEnd > _sentContent && (_sentContent > 0 || !string.IsNullOrWhiteSpace(text[..parsed.ContentEnd])))
                    d.Content.Append(text[_sentContent..parsed.ContentEnd]);
                _sentContent = text.Length;
                int count = tools.ParallelCalls ? parsed.Calls.Count : 1;
                for (int i = 0; i < count; i++)
                {
                    var call = parsed.Calls[i];
                    d.Calls.Add(new ToolCallDelta(i, call.Id, call.Name, call.Arguments));
                }
                _calls = count;
                return;
            }
            if (text.Length > _sentContent) d.Content.Append(text[_sentContent..]);
            _sentContent = text.Length;
            return;
        }
        if (_holding) return;
        int tag = text.IndexOf(ToolCallParser.OpenTag, _sentContent, StringComparison.Ordinal);
        int emitEnd;
        if (tag >= 0)
        {
            _holding = true;
            emitEnd = tag;
        }
        else
        {
            int first = JsonPrefix.SkipWhitespace(text, 0);
            if (_sentContent == 0 && first < text.Length && text[first] == '{') { _holding = true; return; }
            emitEnd = text.Length - PossibleTagStart(text, _sentContent);
        }
        // Leading whitespace waits: it may turn out to precede a call, where the content would be empty.
        if (emitEnd > _sentContent && (_sentContent > 0 || !string.IsNullOrWhiteSpace(text[..emitEnd])))
        {
            d.Content.Append(text[_sentContent..emitEnd]);
            _sentContent = emitEnd;
        }
    }

    private void Header(MessageDelta d, string name)
    {
        d.Calls.Add(new ToolCallDelta(0, ParsedToolCall.NewId(), name, ""));
        _headerSent = true;
        _calls = 1;
    }

    // Length of the longest suffix of text[from..] that could be the start of the opening tag.
    private static int PossibleTagStart(string text, int from)
    {
        string tag = ToolCallParser.OpenTag;
        for (int k = Math.Min(tag.Length - 1, text.Length - from); k > 0; k--)
            if (string.CompareOrdinal(text, text.Length - k, tag, 0, k) == 0) return k;
        return 0;
    }
}
