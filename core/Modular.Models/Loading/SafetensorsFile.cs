using System.IO.MemoryMappedFiles;
using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>
/// One memory-mapped <c>.safetensors</c> file. The header is validated completely before any tensor is handed
/// out: length within the file, JSON shape, known dtypes, non-negative shapes whose byte size matches the
/// offsets, offsets inside the data section, no overlaps, no integer overflow.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Headers above this size are refused (the format's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;
    private readonly Dictionary<string, (TensorInfo Info, long Begin, long End)> _tensors = new(StringComparer.Ordinal);

    /// <summary>Path of the file.</summary>
    public string Path { get; }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    /// <summary>The free-form <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        try
        {
            if (length < 8) throw Fail($"file is {length} bytes, shorter than the 8-byte header length");
            ulong headerLen = *(ulong*)basePtr;
            if (headerLen > (ulong)MaxHeaderBytes) throw Fail($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit");
            if ((long)headerLen > length - 8) throw Fail($"header length {headerLen} runs past the end of the {length}-byte file");
            _dataStart = 8 + (long)headerLen;
            ParseHeader(new ReadOnlySpan<byte>(basePtr + 8, (int)headerLen), length - _dataStart);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a file; throws <see cref="ModelFileException"/> naming it on any problem.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        var length = new FileInfo(path).Length;
        if (length == 0) return new SafetensorsFile(path, null, null, null, 0);
        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        }
        catch (IOException e)
        {
            throw new ModelFileException(path, "cannot be mapped: " + e.Message);
        }
        var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        p += view.PointerOffset;
        return new SafetensorsFile(path, map, view, p, length);
    }

    /// <summary>True when the file holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>dtype and shape of a tensor.</summary>
    public TensorInfo Info(string name) => Get(name).Info;

    /// <summary>The raw bytes of a tensor (valid while this file is open).</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var (_, begin, end) = Get(name);
        long n = end - begin;
        if (n > int.MaxValue) throw Fail($"tensor '{name}' is {n} bytes, more than one span can address; split the checkpoint");
        return new ReadOnlySpan<byte>(_base + _dataStart + begin, (int)n);
    }

    private (TensorInfo Info, long Begin, long End) Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw Fail($"no tensor named '{name}'");

    private void ParseHeader(ReadOnlySpan<byte> header, long dataLength)
    {
        // Property names are decoded lazily; invalid UTF-8 would surface later as an InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Fail("header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail("header is not valid JSON: " + e.Message);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Fail("header is not a JSON object");
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Fail("__metadata__ is not an object");
                    var meta = (Dictionary<string, string>)Metadata;
                    foreach (var m in prop.Value.EnumerateObject())
                        meta[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                var (info, begin, end) = ParseEntry(prop.Name, prop.Value, dataLength);
                if (!_tensors.TryAdd(prop.Name, (info, begin, end))) throw Fail($"tensor '{prop.Name}' is listed twice");
                ranges.Add((begin, end, prop.Name));
            }
            ranges.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            for (int i = 1; i < ranges.Count; i++)
                if (ranges[i].Begin < ranges[i - 1].End)
                    throw Fail($"tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
        }
    }

    private (TensorInfo, long, long) ParseEntry(string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Fail($"entry '{name}' is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Fail($"tensor '{name}' has no dtype string");
        if (!DTypes.TryParseSafetensors(dt.GetString()!, out var dtype))
            throw Fail($"tensor '{name}' has unsupported dtype '{dt.GetString()}'");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Fail($"tensor '{name}' has no shape array");
        var shape = new int[sh.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0 || v > int.MaxValue)
                throw Fail($"tensor '{name}' has an invalid dimension {d.GetRawText()} at shape[{i}]");
            shape[i++] = (int)v;
            try { count = checked(count * v); }
            catch (OverflowException) { throw Fail($"tensor '{name}' shape overflows"); }
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Fail($"tensor '{name}' needs data_offsets [begin, end]");
        long begin = ReadOffset(name, off[0]), end = ReadOffset(name, off[1]);
        if (end < begin) throw Fail($"tensor '{name}' ends ({end}) before it begins ({begin})");
        if (end > dataLength) throw Fail($"tensor '{name}' data [{begin}, {end}) lies outside the {dataLength}-byte data section");
        long expected;
        try { expected = checked(count * DTypes.SizeOf(dtype)); }
        catch (OverflowException) { throw Fail($"tensor '{name}' byte size overflows"); }
        if (end - begin != expected)
            throw Fail($"tensor '{name}' has {end - begin} bytes but {dtype}[{string.Join(",", shape)}] needs {expected}");
        return (new TensorInfo(name, dtype, shape), begin, end);
    }

    private long ReadOffset(string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var x) || x < 0)
            throw Fail($"tensor '{name}' has an invalid data offset {v.GetRawText()}");
        return x;
    }

    private ModelFileException Fail(string problem) => new(Path, problem);

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
