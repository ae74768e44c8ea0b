using System.Globalization;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Bench;
using Modular.Models;
using Modular.Models.Benchmarks;
using Modular.Models.Loading;

// modular-bench [--backend cuda|rocm] [--setting k=v]... [--model-config llama-3.1-8b] [--out DIR]
//               [--skip w1,w2,prefill,ceilings,graphs] [--w2-batches 256,512]
//               [--w2-prompts 512] [--quantization gptq|awq|fp8]
// Prints a table last and writes DIR/bench-<backend>.json.
var opts = Args.Parse(args);
string backendName = opts.Get("backend", "cuda");
string outDir = opts.Get("out", Environment.GetEnvironmentVariable("OUT") ?? ".");
var skip = new HashSet<string>(opts.Get("skip", "").Split(',', StringSplitOptions.RemoveEmptyEntries));
var w2Batches = opts.Get("w2-batches", "256").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
int w2Prompts = int.Parse(opts.Get("w2-prompts", "512"), CultureInfo.InvariantCulture);
var results = new Dictionary<string, object?>();
void Log(string line) { Console.Error.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {line}"); }
void Save()
{
    Directory.CreateDirectory(outDir);
    File.WriteAllText(Path.Combine(outDir, $"bench-{backendName}.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
}

using IBackend backend = OpenBackend(backendName, opts.Settings);
results["backend"] = backendName;
results["device"] = backend.Info.Name;
results["driver"] = backend.Info.Driver;
results["date"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
results["commit"] = Environment.GetEnvironmentVariable("MODULAR_COMMIT") ?? "unknown";
Log($"{backendName}: {backend.Info.Name} ({backend.Info.Driver}), {backend.Info.FreeMemory >> 20} MiB free");

string shape = opts.Get("model-config", "llama-3.1-8b");
var config = ModelShapes.Config(shape);
// --quantization: dummy weights generated in that format (gptq/awq: Int4 groups of 128, fp8: e4m3 per channel).
string? quantization = opts.Get("quantization", "") is { Length: > 0 } q ? q.ToLowerInvariant() : null;
IQuantizer? quantizer = quantization is null ? null : new Modular.Plugins.Quant.DummyQuantizer(quantization);
results["quantization"] = quantization ?? "none";
using var model = DummyWeights.LoadModel(config, $"{shape} (dummy)", backend, 4096, quantizer, quantization);
Log($"loaded {shape} dummy {quantization ?? "bf16"} weights: {model.WeightBytes / 1e9:F2} GB read as bf16 (quantized layers not counted)");
// Bytes a decode step must read per token at batch 1: every weight but the embedding table (one row of it).
long embeddingBytes = (long)config.VocabSize * config.HiddenSize * 2;
double decodeWeightBytes = model.WeightBytes - embeddingBytes + (config.TieWordEmbeddings ? embeddingBytes : 0) + QuantizedBytes(model);
results["weight_bytes"] = model.WeightBytes;
results["decode_weight_bytes_per_token"] = decodeWeightBytes;

double copyBw = double.NaN, gemmRate = double.NaN;
if (!skip.Contains("ceilings"))
{
    copyBw = DeviceCeilings.CopyBandwidth(backend);
    results["copy_bandwidth_bytes_s"] = copyBw;
    Log($"copy bandwidth {copyBw / 1e12:F3} TB/s (read+write)");
}
// Quantized layers: each projection of layer 0 timed through its ILinear (decode and batch sizes).
if (!skip.Contains("ceilings") && model.Layers[0].GateUp is Modular.Plugins.Quant.QuantizedLinear)
{
    var l0 = model.Layers[0];
    var gemms = new Dictionary<string, object>();
    // v has k's shape; the router (MoE) is not quantized.
    foreach (var (name, lin) in l0.Linears.Where(p => p.Name is not ("v" or "router")))
    {
        if (lin is not Modular.Plugins.Quant.QuantizedLinear ql) continue;
        var qw = ql.Weight;
        double bytes = qw.Data.Length + 4.0 * qw.Scales.Length + 4.0 * (qw.Zeros?.Length ?? 0);
        foreach (int m in new[] { 1, 8, 256, 2048 })
        {
            double s = DeviceCeilings.LinearSeconds(backend, lin, m);
            double flops = 2.0 * m * lin.InFeatures * lin.OutFeatures;
            gemms[$"{name}_m{m}"] = new { n = lin.OutFeatures, k = lin.InFeatures, us = s * 1e6, weight_gb_s = bytes / s / 1e9, tflop_s = flops / s / 1e12 };
            Log($"  {quantization} linear {name} [{m},{lin.InFeatures}]x[{lin.OutFeatures},{lin.InFeatures}]^T: {s * 1e6:F1} us, weight {bytes / s / 1e9:F0} GB/s, {flops / s / 1e12:F1} TFLOP/s");
        }
    }
    results["quantized_linear_breakdown"] = gemms;
    Save();
}
// The bf16 GEMM rate and the per-projection breakdown time the dense weights; quantized layers have none.
if (!skip.Contains("ceilings") && model.Layers[0].GateUp is DenseLinear)
{
    var gateUp = ((DenseLinear)model.Layers[0].GateUp!).Weight;
    gemmRate = DeviceCeilings.GemmRate(backend, gateUp, 8192);
    results["gemm_bf16_flop_s"] = gemmRate;
    Log($"bf16 GEMM [8192,4096]x[28672,4096]^T {gemmRate / 1e12:F1} TFLOP/s");
    // Decode breakdown: each projection at batch 1 and 256 (event-timed, launch included).
    var l0 = model.Layers[0];
    // qkv when the layers are loaded fused, else q and k (v has k's shape).
    var shapes = l0.Linears.Where(p => p.Name is not ("v" or "router") && p.Linear is DenseLinear)
        .Select(p => (Name: p.Name, W: ((DenseLinear)p.Linear).Weight)).ToList();
    shapes.Add(("lm_head", ((DenseLinear)model.LmHead).Weight));
    var gemms = new Dictionary<string, object>();
    foreach (var (name, w) in shapes)
        foreach (int m in new[] { 1, 256 })
        {
            double s = DeviceCeilings.LinearSeconds(backend, w, m);
            double bytes = 2.0 * w.Length + 2.0 * m * (w.Shape[0] + w.Shape[1]);
            gemms[$"{name}_m{m}"] = new { n = w.Shape[0], k = w.Shape[1], us = s * 1e6, gb_s = bytes / s / 1e9, tflop_s = 2.0 * m * w.Length / s / 1e12 };
            Log($"  linear {name} [{m},{w.Shape[1]}]x[{w.Shape[0]},{w.Shape[1]}]^T: {s * 1e6:F1} us, {bytes / s / 1e9:F0} GB/s, {2.0 * m * w.Length / s / 1e12:F1} TFLOP/s");
        }
    results["linear_breakdown"] = gemms;
    Save();
}

if (!skip.Contains("graphs") && GraphBreakdown.Run(model, Log) is { } graphBreakdown)
{
    results["graph_breakdown"] = graphBreakdown;
    Save();
}

if (!skip.Contains("w1"))
{
    var r = LatencyBench.Run(model, new LatencySettings(BatchSize: 1, InputLen: 128, OutputLen: 256, Warmup: 2, Iterations: 3), Log);
    double tokS = r.DecodeTokensPerSecond;
    double kvBytes = 2.0 * config.NumLayers * config.NumKvHeads * config.HeadDim * 2 * (128 + 128); // mean context 256
    double roofline = copyBw / (decodeWeightBytes + kvBytes);
    results["w1"] = new { decode_tok_s = tokS, prefill_s = r.Iterations.Select(i => i.PrefillSeconds).Order().ElementAt(r.Iterations.Count / 2),
        roofline_tok_s = roofline, fraction_of_roofline = tokS / roofline, step_ms = 1000 / tokS };
    Log($"W1: {tokS:F1} tok/s decode, roofline {roofline:F1} tok/s ({tokS / roofline:P1})");
    Save();
}

if (!skip.Contains("prefill"))
{
    const int seqs = 8, len = 2048;
    var r = LatencyBench.Run(model, new LatencySettings(BatchSize: seqs, InputLen: len, OutputLen: 1, Warmup: 1, Iterations: 3), Log);
    double s = r.Iterations.Select(i => i.PrefillSeconds).Order().ElementAt(r.Iterations.Count / 2);
    long linearParams = 0;
    var l0 = model.Layers[0];
    foreach (var (name, lin) in l0.Linears) if (name != "router") linearParams += (long)lin.InFeatures * lin.OutFeatures;
    double gemmFlops = 2.0 * seqs * len * linearParams * config.NumLayers + 2.0 * seqs * config.VocabSize * config.HiddenSize;
    // Causal attention: QK^T and PV, 2*D flops each per visible (query, key) pair and head.
    double attnFlops = 4.0 * config.HeadDim * config.NumHeads * config.NumLayers * seqs * (len * (len + 1.0) / 2);
    double rate = (gemmFlops + attnFlops) / s;
    results["prefill"] = new { seqs, len, seconds = s, tokens_s = seqs * len / s, model_flop_s = rate, gemm_flops = gemmFlops, attention_flops = attnFlops,
        fraction_of_gemm_rate = rate / gemmRate };
    Log($"prefill 8x2048: {s:F3} s, {seqs * len / s:F0} tok/s, {rate / 1e12:F1} TFLOP/s ({rate / gemmRate:P1} of the GEMM rate)");
    Save();
}

if (!skip.Contains("w2"))
{
    foreach (int batch in w2Batches)
    {
        try
        {
            var r = StaticBatchBench.Run(model, new StaticBatchSettings(NumPrompts: w2Prompts, BatchSize: batch), Log);
            results[$"w2_b{batch}"] = new { output_tok_s = r.OutputTokensPerSecond, total_s = r.TotalSeconds, prefill_s = r.PrefillSeconds,
                decode_s = r.DecodeSeconds, decode_step_ms = r.DecodeStepMilliseconds, prefill_tok_s = r.PrefillTokensPerSecond };
            Log($"W2 batch {batch}: {r.OutputTokensPerSecond:F0} output tok/s (total {r.TotalSeconds:F2} s, prefill {r.PrefillSeconds:F2} s, decode {r.DecodeStepMilliseconds:F2} ms/step)");
        }
        catch (Exception e)
        {
            results[$"w2_b{batch}"] = new { error = e.Message };
            Log($"W2 batch {batch} failed: {e.Message}");
        }
        Save();
    }
}
Save();
Console.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
return 0;

// Device bytes of the quantized layers' codes, scales and zero points (a decode step reads them all once).
static long QuantizedBytes(TransformerModel m)
{
    static long Bytes(Tensor? t) => t is null ? 0 : t.Length * DTypes.SizeOf(t.DType);
    long total = 0;
    foreach (var l in m.Layers)
        foreach (var (_, lin) in l.Linears)
            if (lin is Modular.Plugins.Quant.QuantizedLinear q)
                total += Bytes(q.Weight.Data) + Bytes(q.Weight.Scales) + Bytes(q.Weight.Zeros) + Bytes(q.Weight.GroupIndex);
    return total;
}

static IBackend OpenBackend(string name, IReadOnlyDictionary<string, string> settings)
{
    var options = new BackendOptions(Settings: settings);
    return name switch
    {
        "cuda" => new Modular.Backends.Cuda.CudaBackendProvider().Create(options),
#if WITH_ROCM
        "rocm" => new Modular.Backends.Rocm.RocmBackendProvider().Create(options),
#endif
        _ => throw new ArgumentException($"--backend {name}: this build knows cuda (rocm when built with -p:WithRocm=true)"),
    };
}

/// <summary>Command-line options: --name value pairs and repeated --setting key=value.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new();

    /// <summary>Backend settings from --setting key=value.</summary>
    public Dictionary<string, string> Settings { get; } = new();

    /// <summary>Parses <paramref name="args"/>; throws naming a flag without a value.</summary>
    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            string key = args[i][2..], value = args[++i];
            if (key == "setting")
            {
                int eq = value.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"--setting {value}: expected key=value");
                a.Settings[value[..eq]] = value[(eq + 1)..];
            }
            else a._values[key] = value;
        }
        return a;
    }

    /// <summary>The value of --<paramref name="key"/> or <paramref name="fallback"/>.</summary>
    public string Get(string key, string fallback) => _values.TryGetValue(key, out var v) ? v : fallback;
}
