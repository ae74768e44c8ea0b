using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Modular.Abstractions;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Cpu;

/// <summary>
/// Quantized linear layers on the CPU: each output row's codes are unpacked into a K-float scratch row (SIMD
/// unpack, then one scale/zero pass per group) and dotted with every token row, so the weight is never held
/// dequantized in full and the unpack cost is shared by all tokens of a batch.
/// </summary>
internal sealed unsafe partial class CpuKernels
{
    /// <summary>Per-thread scratch row; grows to the widest K seen.</summary>
    [ThreadStatic] private static float[]? t_row;

    /// <summary>2^120 as a float: rebiases an e4m3 exponent (bias 7) placed in a float32 (bias 127).</summary>
    private static readonly float Fp8Rebias = BitConverter.Int32BitsToSingle((127 + 120) << 23);

    public bool Supports(QuantizedFormat format) =>
        format is QuantizedFormat.Int4 or QuantizedFormat.Int8 or QuantizedFormat.Fp8E4M3;

    public void LinearQuantized(Tensor x, QuantizedWeight weight, Tensor? bias, Tensor output)
    {
        var xs = T(x); var o = T(output);
        int rows = xs.Rows, n = weight.OutFeatures, k = weight.InFeatures;
        if (xs.RowLength != k || o.RowLength != n || o.Rows != rows)
            throw new ArgumentException($"quantized linear shapes: x {xs}, weight [{n},{k}] {weight.Format}, out {o}");
        var layout = QuantLayout.Check(weight);
        float* b = bias is null ? null : T(bias).F32;
        if (b != null && bias!.Length != n) throw new ArgumentException($"quantized linear: bias {bias} does not match {n} outputs");
        float* xp = xs.F32, op = o.F32;
        const int block = 16;
        int blocks = (n + block - 1) / block;
        For(blocks, (long)block * k * (rows + 2), bi =>
        {
            int n0 = bi * block, n1 = Math.Min(n, n0 + block);
            var row = t_row is { } r0 && r0.Length >= layout.PaddedK ? r0 : (t_row = new float[layout.PaddedK]);
            fixed (float* w = row)
            {
                var wk = new ReadOnlySpan<float>(w, k);
                for (int j = n0; j < n1; j++)
                {
                    layout.DequantizeRow(j, w);
                    float bj = b == null ? 0f : b[j];
                    for (int t = 0; t < rows; t++)
                        op[(long)t * n + j] = TensorPrimitives.Dot(new ReadOnlySpan<float>(xp + (long)t * k, k), wk) + bj;
                }
            }
        });
    }

    /// <summary>Raw pointers into a validated <see cref="QuantizedWeight"/>, and the row dequantizer.</summary>
    private readonly struct QuantLayout
    {
        private readonly QuantizedFormat _format;
        private readonly int _k, _groups, _groupSize, _scaleBlockRows, _rowBytes;
        private readonly byte* _data;
        private readonly float* _scales, _zeros;
        private readonly int* _groupIndex;

        /// <summary>K rounded up to the unpack granule (32 for Int4), the scratch row length.</summary>
        public int PaddedK { get; }

        private QuantLayout(QuantizedWeight w)
        {
            _format = w.Format;
            _k = w.InFeatures;
            _groups = w.Groups;
            _groupSize = w.GroupSize;
            _scaleBlockRows = w.ScaleBlockRows;
            _rowBytes = w.RowBytes;
            PaddedK = w.Format == QuantizedFormat.Int4 ? _rowBytes * 2 : _k;
            _data = T(w.Data).Pointer;
            _scales = T(w.Scales).F32;
            _zeros = w.Zeros is null ? null : T(w.Zeros).F32;
            _groupIndex = w.GroupIndex is null ? null : T(w.GroupIndex).I32;
        }

        /// <summary>Checks every tensor's dtype and size against the description, so the hot loop can trust them.</summary>
        public static QuantLayout Check(QuantizedWeight w)
        {
            int n = w.OutFeatures, k = w.InFeatures;
            if (n <= 0 || k <= 0 || w.GroupSize <= 0 || w.ScaleBlockRows <= 0)
                throw new ArgumentException($"quantized weight [{n},{k}]: group size {w.GroupSize} and scale block rows {w.ScaleBlockRows} must be positive");
            Expect(w.Data, DType.U8, (long)n * w.RowBytes, "Data");
            if (w.GroupIndex is null && w.Groups != (k + w.GroupSize - 1) / w.GroupSize)
                throw new ArgumentException($"quantized weight [{n},{k}]: {w.Groups} scale groups, but group size {w.GroupSize} implies {(k + w.GroupSize - 1) / w.GroupSize}");
            Expect(w.Scales, DType.F32, (long)((n + w.ScaleBlockRows - 1) / w.ScaleBlockRows) * w.Groups, "Scales");
            if (w.Zeros is not null)
            {
                if (w.Format == QuantizedFormat.Fp8E4M3) throw new ArgumentException("quantized weight: FP8 weights take no zero points");
                Expect(w.Zeros, DType.F32, (long)n * w.Groups, "Zeros");
            }
            if (w.GroupIndex is not null) Expect(w.GroupIndex, DType.I32, k, "GroupIndex");
            return new QuantLayout(w);
        }

        private static void Expect(Tensor t, DType dtype, long length, string field)
        {
            if (t.DType != dtype || t.Length != length)
                throw new ArgumentException($"quantized weight {field} is {t}, expected {dtype} with {length} elements");
        }

        /// <summary>Writes W[n, 0..K) into <paramref name="w"/> (PaddedK floats).</summary>
        public void DequantizeRow(int n, float* w)
        {
            byte* src = _data + (long)n * _rowBytes;
            switch (_format)
            {
                case QuantizedFormat.Int4: UnpackInt4(src, _rowBytes, w); break;
                case QuantizedFormat.Int8: WidenBytes(src, _k, w); break;
                default: DecodeFp8(src, _k, w); break;
            }
            float* scales = _scales + (long)(n / _scaleBlockRows) * _groups;
            float* zeros = _zeros == null ? null : _zeros + (long)n * _groups;
            // Symmetric integer codes are centred on the midpoint; FP8 codes are already signed values.
            float mid = _format switch { QuantizedFormat.Int4 => 8f, QuantizedFormat.Int8 => 128f, _ => 0f };
            if (_groupIndex != null)
            {
                for (int i = 0; i < _k; i++)
                {
                    int g = _groupIndex[i];
                    if ((uint)g >= (uint)_groups) throw new ArgumentException($"quantized weight GroupIndex[{i}] = {g} is outside [0, {_groups})");
                    w[i] = (w[i] - (zeros == null ? mid : zeros[g])) * scales[g];
                }
                return;
            }
            for (int g = 0, start = 0; g < _groups; g++, start += _groupSize)
            {
                var seg = new Span<float>(w + start, Math.Min(_groupSize, _k - start));
                float z = zeros == null ? mid : zeros[g];
                if (z != 0f) TensorPrimitives.Subtract(seg, z, seg);
                TensorPrimitives.Multiply(seg, scales[g], seg);
            }
        }

        /// <summary>16 bytes → 32 codes: low nibbles are inputs 0..15 of the block, high nibbles 16..31.</summary>
        private static void UnpackInt4(byte* src, int bytes, float* dst)
        {
            var mask = Vector128.Create((byte)0x0F);
            for (int i = 0; i < bytes; i += 16, dst += 32)
            {
                var v = Vector128.Load(src + i);
                StoreBytes(v & mask, dst);
                StoreBytes(Vector128.ShiftRightLogical(v, 4), dst + 16);
            }
        }

        private static void WidenBytes(byte* src, int count, float* dst)
        {
            int i = 0;
            for (; i + 16 <= count; i += 16) StoreBytes(Vector128.Load(src + i), dst + i);
            for (; i < count; i++) dst[i] = src[i];
        }

        /// <summary>Widens 16 unsigned bytes to 16 floats.</summary>
        private static void StoreBytes(Vector128<byte> v, float* dst)
        {
            var (lo, hi) = Vector128.Widen(v);
            var (a, b) = Vector128.Widen(lo);
            var (c, d) = Vector128.Widen(hi);
            Vector128.ConvertToSingle(a).Store(dst);
            Vector128.ConvertToSingle(b).Store(dst + 4);
            Vector128.ConvertToSingle(c).Store(dst + 8);
            Vector128.ConvertToSingle(d).Store(dst + 12);
        }

        /// <summary>
        /// e4m3fn → float32 without a table: sign to bit 31, exponent and mantissa to bits 20..26, then scale by
        /// 2^120 to move the exponent bias from 7 to 127 (this also turns e4m3 subnormals into the right values).
        /// </summary>
        private static void DecodeFp8(byte* src, int count, float* dst)
        {
            int i = 0;
            var rebias = Vector128.Create(Fp8Rebias);
            for (; i + 16 <= count; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Load(src + i));
                var (a, b) = Vector128.Widen(lo);
                var (c, d) = Vector128.Widen(hi);
                (Fp8Bits(a) * rebias).Store(dst + i);
                (Fp8Bits(b) * rebias).Store(dst + i + 4);
                (Fp8Bits(c) * rebias).Store(dst + i + 8);
                (Fp8Bits(d) * rebias).Store(dst + i + 12);
            }
            for (; i < count; i++)
            {
                uint u = src[i];
                dst[i] = BitConverter.UInt32BitsToSingle(((u & 0x80) << 24) | ((u & 0x7F) << 20)) * Fp8Rebias;
            }
        }

        private static Vector128<float> Fp8Bits(Vector128<uint> u) =>
            (((u & Vector128.Create(0x80u)) << 24) | ((u & Vector128.Create(0x7Fu)) << 20)).AsSingle();
    }
}
