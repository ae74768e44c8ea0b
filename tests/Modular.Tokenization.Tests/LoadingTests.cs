using System.IO.Compression;
using System.Text;
using Modular.Tokenization;

namespace Modular.Tokenization.Tests;

/// <summary>File handling and clear errors.</summary>
public sealed class LoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modular-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MissingTokenizerJson_ErrorNamesFile()
    {
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void CorruptTokenizerJson_ErrorNamesFile()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,");
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(_dir));
        Assert.Equal(Path.Combine(_dir, "tokenizer.json"), e.FilePath);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void CorruptGzip_ErrorNamesFile()
    {
        File.WriteAllBytes(Path.Combine(_dir, "tokenizer.json.gz"), [1, 2, 3, 4, 5]);
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(_dir));
        Assert.EndsWith("tokenizer.json.gz", e.FilePath);
    }

    [Fact]
    public void WrongStructure_ErrorNamesFileAndField()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("model.type", e.Message);
    }

    [Fact]
    public void CorruptTokenizerConfig_ErrorNamesThatFile()
    {
        WriteTinySentencePiece(gzip: false);
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), "{ bos_token: ");
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(_dir));
        Assert.EndsWith("tokenizer_config.json", e.FilePath);
    }

    [Fact]
    public void TinySentencePiece_MergesByRank_ByteFallback_LstripRstrip()
    {
        WriteTinySentencePiece(gzip: true);
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """
            {"tokenizer_class": "LlamaTokenizer", "add_bos_token": true, "bos_token": {"content": "<s>", "__type": "AddedToken"},
             "eos_token": "</s>", "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """);
        var tok = HfTokenizer.FromDirectory(_dir);
        Assert.Equal("D", tok.ChatTemplate);
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal([2], tok.EosIds);
        // "▁ab▁é": "a b" (rank 0) applies before "▁ a" (rank 1), so "▁ab" is never formed; "é" is not in the
        // vocabulary and falls back to its UTF-8 bytes <0xC3><0xA9>.
        int c3 = 3 + 0xC3, a9 = 3 + 0xA9;
        Assert.Equal([1, 259, 263, 259, c3, a9], tok.Encode("ab é"));
        Assert.Equal("ab é", tok.Decode([1, 259, 263, 259, c3, a9], skipSpecialTokens: true));
        // A byte run that is not valid UTF-8 decodes to one U+FFFD per byte, as HF's ByteFallback decoder does.
        Assert.Equal("a\uFFFD\uFFFD", tok.Decode([260, c3, c3]));
        // <mask> has lstrip + rstrip: the spaces around it disappear into it; each side gets its own "▁".
        Assert.Equal([262, 265, 262], tok.Encode("a  <mask>  a", addSpecialTokens: false));
    }

    private void WriteTinySentencePiece(bool gzip)
    {
        var vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int b = 0; b < 256; b++) vocab.Append($", \"<0x{b:X2}>\": {3 + b}");
        vocab.Append(", \"▁\": 259, \"a\": 260, \"b\": 261, \"▁a\": 262, \"ab\": 263, \"▁ab\": 264");
        string json = $$"""
        {
          "version": "1.0",
          "added_tokens": [
            {"id": 0, "content": "<unk>", "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false},
            {"id": 1, "content": "<s>", "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false},
            {"id": 2, "content": "</s>", "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false},
            {"id": 265, "content": "<mask>", "special": true, "lstrip": true, "rstrip": true, "normalized": false, "single_word": false}
          ],
          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
          "pre_tokenizer": null,
          "post_processor": null,
          "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
          "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
            "vocab": { {{vocab}} },
            "merges": ["a b", "▁ a", "▁a b"] }
        }
        """;
        string path = Path.Combine(_dir, gzip ? "tokenizer.json.gz" : "tokenizer.json");
        if (!gzip) { File.WriteAllText(path, json); return; }
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(json));
    }
}
