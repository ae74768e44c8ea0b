namespace Modular.Abstractions;

/// <summary>Element types of tensors, named as safetensors names them.</summary>
public enum DType
{
    /// <summary>IEEE float32.</summary>
    F32,
    /// <summary>IEEE float16.</summary>
    F16,
    /// <summary>bfloat16 (upper half of a float32).</summary>
    BF16,
    /// <summary>FP8 e4m3 (finite, no infinities), as written by the HF FP8 format.</summary>
    F8E4M3,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer (token ids, positions, slot mappings, packed int4 words).</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Boolean stored as one byte.</summary>
    Bool,
}

/// <summary>Sizes and names of <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.F8E4M3 or DType.I8 or DType.U8 or DType.Bool => 1,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>Parses a safetensors dtype string ("F32", "BF16", "F8_E4M3", ...); false when unknown.</summary>
    public static bool TryParseSafetensors(string name, out DType t)
    {
        switch (name)
        {
            case "F32": t = DType.F32; return true;
            case "F16": t = DType.F16; return true;
            case "BF16": t = DType.BF16; return true;
            case "F8_E4M3": t = DType.F8E4M3; return true;
            case "I64": t = DType.I64; return true;
            case "I32": t = DType.I32; return true;
            case "I16": t = DType.I16; return true;
            case "I8": t = DType.I8; return true;
            case "U8": t = DType.U8; return true;
            case "BOOL": t = DType.Bool; return true;
            default: t = default; return false;
        }
    }

    /// <summary>True for the floating-point types weights and activations may use.</summary>
    public static bool IsFloat(DType t) => t is DType.F32 or DType.F16 or DType.BF16 or DType.F8E4M3;
}
