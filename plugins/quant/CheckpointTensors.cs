using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>Reads checkpoint tensors of a quantized layer into host arrays, checking dtype and shape by name.</summary>
internal static class CheckpointTensors
{
    /// <summary>The tensor's info, failing with the tensor's name when it is absent.</summary>
    public static TensorInfo Require(IWeightSource source, string name, string method)
    {
        if (!source.Contains(name)) throw new InvalidDataException($"{method}: tensor '{name}' is missing from the checkpoint");
        return source.Info(name);
    }

    /// <summary>An I32 tensor of exactly <paramref name="shape"/>.</summary>
    public static int[] Int32(IWeightSource source, string name, string method, params int[] shape)
    {
        var info = Require(source, name, method);
        if (info.DType != DType.I32) throw new InvalidDataException($"{method}: tensor '{name}' has dtype {info.DType}, expected I32");
        CheckShape(info, method, shape);
        return MemoryMarshal.Cast<byte, int>(source.Bytes(name)).ToArray();
    }

    /// <summary>A float tensor (F32, F16, BF16 or F8E4M3) widened to float32, of exactly <paramref name="shape"/>.</summary>
    public static float[] Float(IWeightSource source, string name, string method, params int[] shape)
    {
        var info = Require(source, name, method);
        CheckShape(info, method, shape);
        return ToFloat(source.Bytes(name), info.DType, name, method);
    }

    /// <summary>A float tensor of any shape (scales whose layout tells the granularity).</summary>
    public static float[] Float(IWeightSource source, string name, string method, out int[] shape)
    {
        var info = Require(source, name, method);
        shape = info.Shape;
        return ToFloat(source.Bytes(name), info.DType, name, method);
    }

    /// <summary>Widens float bytes of <paramref name="type"/> to float32.</summary>
    public static float[] ToFloat(ReadOnlySpan<byte> bytes, DType type, string name, string method)
    {
        switch (type)
        {
            case DType.F32:
                return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case DType.F16:
            {
                var h = MemoryMarshal.Cast<byte, Half>(bytes);
                var f = new float[h.Length];
                for (int i = 0; i < f.Length; i++) f[i] = (float)h[i];
                return f;
            }
            case DType.BF16:
            {
                var u = MemoryMarshal.Cast<byte, ushort>(bytes);
                var f = new float[u.Length];
                for (int i = 0; i < f.Length; i++) f[i] = BitConverter.Int32BitsToSingle(u[i] << 16);
                return f;
            }
            case DType.F8E4M3:
            {
                var f = new float[bytes.Length];
                for (int i = 0; i < f.Length; i++) f[i] = Fp8E4M3.Decode(bytes[i]);
                return f;
            }
            default:
                throw new InvalidDataException($"{method}: tensor '{name}' has dtype {type}, expected a float type");
        }
    }

    public static void CheckShape(TensorInfo info, string method, int[] shape)
    {
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new InvalidDataException($"{method}: tensor '{info.Name}' has shape [{string.Join(",", info.Shape)}], expected [{string.Join(",", shape)}]");
    }
}
