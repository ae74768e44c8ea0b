namespace Modular.Models.Loading;

/// <summary>
/// config.json texts of well-known models, so benchmarks can build a model of real shapes with dummy weights
/// (<c>--load-format dummy --model-config NAME</c>) without any file on disk. Values are those the public
/// configs publish.
/// </summary>
public static class ModelShapes
{
    /// <summary>Shape names accepted by <see cref="Config"/>.</summary>
    public static IReadOnlyList<string> Names => [.. Shapes.Keys];

    private static readonly Dictionary<string, string> Shapes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["llama-3.1-8b"] = """
            {"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
             "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,
             "max_position_embeddings":131072,"rms_norm_eps":1e-5,"hidden_act":"silu","tie_word_embeddings":false,
             "rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
             "high_freq_factor":4.0,"original_max_position_embeddings":8192},"torch_dtype":"bfloat16",
             "bos_token_id":128000,"eos_token_id":[128001,128008,128009]}
            """,
        ["llama-3.1-70b"] = """
            {"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":8192,"intermediate_size":28672,
             "num_hidden_layers":80,"num_attention_heads":64,"num_key_value_heads":8,"vocab_size":128256,
             "max_position_embeddings":131072,"rms_norm_eps":1e-5,"hidden_act":"silu","tie_word_embeddings":false,
             "rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
             "high_freq_factor":4.0,"original_max_position_embeddings":8192},"torch_dtype":"bfloat16",
             "bos_token_id":128000,"eos_token_id":[128001,128008,128009]}
            """,
        ["qwen2.5-0.5b"] = """
            {"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"hidden_size":896,"intermediate_size":4864,
             "num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"vocab_size":151936,
             "max_position_embeddings":32768,"rms_norm_eps":1e-6,"hidden_act":"silu","tie_word_embeddings":true,
             "rope_theta":1000000.0,"use_sliding_window":false,"torch_dtype":"bfloat16",
             "bos_token_id":151643,"eos_token_id":151643}
            """,
        ["qwen2.5-7b"] = """
            {"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"hidden_size":3584,"intermediate_size":18944,
             "num_hidden_layers":28,"num_attention_heads":28,"num_key_value_heads":4,"vocab_size":152064,
             "max_position_embeddings":32768,"rms_norm_eps":1e-6,"hidden_act":"silu","tie_word_embeddings":false,
             "rope_theta":1000000.0,"use_sliding_window":false,"torch_dtype":"bfloat16",
             "bos_token_id":151643,"eos_token_id":151645}
            """,
        ["mixtral-8x7b"] = """
            {"model_type":"mixtral","architectures":["MixtralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
             "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":32000,
             "max_position_embeddings":32768,"rms_norm_eps":1e-5,"hidden_act":"silu","tie_word_embeddings":false,
             "rope_theta":1000000.0,"num_local_experts":8,"num_experts_per_tok":2,"torch_dtype":"bfloat16",
             "bos_token_id":1,"eos_token_id":2}
            """,
    };

    /// <summary>The config of a named shape, or of a config.json path.</summary>
    public static ModelConfig Config(string nameOrPath)
    {
        if (Shapes.TryGetValue(nameOrPath, out var json)) return ModelConfig.Parse(json, $"built-in shape '{nameOrPath}'");
        if (File.Exists(nameOrPath)) return ModelConfig.Parse(File.ReadAllText(nameOrPath), nameOrPath);
        if (Directory.Exists(nameOrPath)) return ModelConfig.Load(nameOrPath);
        throw new ArgumentException($"--model-config '{nameOrPath}' is neither a built-in shape ({string.Join(", ", Names)}) nor a config.json");
    }
}
