using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>
/// All safetensors files of a checkpoint directory: a single <c>model.safetensors</c>, or the shards named by
/// <c>model.safetensors.index.json</c>'s <c>weight_map</c>. Implements <see cref="IWeightSource"/>.
/// </summary>
public sealed class Checkpoint : IWeightSource, IDisposable
{
    private readonly List<SafetensorsFile> _files = new();
    private readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    private Checkpoint(string directory) => Directory = directory;

    /// <summary>Opens every file of the checkpoint in <paramref name="dir"/>.</summary>
    public static Checkpoint Open(string dir)
    {
        var ck = new Checkpoint(dir);
        try
        {
            var index = System.IO.Path.Combine(dir, "model.safetensors.index.json");
            if (System.IO.File.Exists(index)) ck.OpenSharded(index);
            else
            {
                var single = System.IO.Path.Combine(dir, "model.safetensors");
                if (!System.IO.File.Exists(single))
                {
                    var any = System.IO.Directory.GetFiles(dir, "*.safetensors");
                    if (any.Length != 1)
                        throw new ModelFileException(single, any.Length == 0
                            ? "not found, and no model.safetensors.index.json either (only safetensors checkpoints are read; .bin/pickle files are never executed)"
                            : "not found, and several *.safetensors files exist without an index");
                    single = any[0];
                }
                ck.Add(SafetensorsFile.Open(single));
            }
            return ck;
        }
        catch
        {
            ck.Dispose();
            throw;
        }
    }

    private void OpenSharded(string indexPath)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(indexPath)); }
        catch (JsonException e) { throw new ModelFileException(indexPath, "not valid JSON: " + e.Message); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFileException(indexPath, "has no weight_map object");
            var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                var shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                if (string.IsNullOrEmpty(shard) || shard.Contains('/') || shard.Contains('\\') || shard.StartsWith('.'))
                    throw new ModelFileException(indexPath, $"weight_map['{entry.Name}'] names an invalid shard '{shard}'");
                if (!shards.TryGetValue(shard, out var file))
                {
                    file = SafetensorsFile.Open(System.IO.Path.Combine(Directory, shard));
                    shards[shard] = file;
                    _files.Add(file);
                }
                if (!file.Contains(entry.Name))
                    throw new ModelFileException(file.Path, $"index says it holds '{entry.Name}' but it does not");
                _byTensor[entry.Name] = file;
            }
        }
    }

    private void Add(SafetensorsFile file)
    {
        _files.Add(file);
        foreach (var n in file.Names) _byTensor[n] = file;
    }

    /// <summary>All tensor names.</summary>
    public IEnumerable<string> Names => _byTensor.Keys;

    /// <inheritdoc />
    public bool Contains(string name) => _byTensor.ContainsKey(name);

    /// <inheritdoc />
    public TensorInfo Info(string name) => File(name).Info(name);

    /// <inheritdoc />
    public ReadOnlySpan<byte> Bytes(string name) => File(name).Bytes(name);

    /// <summary>The file holding a tensor; throws naming the checkpoint when absent.</summary>
    public SafetensorsFile File(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f : throw new ModelFileException(Directory, $"tensor '{name}' is missing from the checkpoint");

    /// <summary>Unmaps all files.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
