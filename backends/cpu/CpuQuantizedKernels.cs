using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Modular.Abstractions;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Cpu;

/// <summary>
/// Quantized linear layers on the CPU: a block of 16 output rows is unpacked into per-thread scratch (SIMD
/// unpack, then one scale/zero pass per group) and dotted with every token row, so the weight is never held
/// dequantized in full and the unpack cost is shared by all tokens of a batch.
/// </summary>
internal sealed unsafe partial class CpuKernels
{
    /// <summary>Per-thread scratch for one block of unpacked rows; grows to the widest K seen.</summary>
    [ThreadStatic] private static float[]? t_rows;

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
            int n0 = bi * block, n1 = Math.Min(n, n0 + block), stride = layout.PaddedK;
            // The block's rows are unpacked once into scratch (16 x K floats, L2-sized), then every token row
            // streams past them, as the dense Linear does with its weight rows.
            int need = block * stride;
            var scratch = t_rows is { } s0 && s0.Length >= need ? s0 : (t_rows = new float[need]);
            fixed (float* w = scratch)
            {
                for (int j = n0; j < n1; j++) layout.DequantizeRow(j, w + (long)(j - n0) * stride);
                for (int t = 0; t < rows; t++)
                {
                    var xr = new ReadOnlySpan<float>(xp + (long)t * k, k);
                    float* orow = op + (long)t * n;
                    for (int j = n0; j < n1; j++)
                        orow[j] = TensorPrimitives.Dot(xr, new ReadOnlySpan<float>(w + (long)(j - n0) * stride, k)) + (b == null ? 0f : b[j]);
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
                float z = zeros == null ? mid : zeros[g], s = scales[g];
                ScaleShift(w + start, Math.Min(_groupSize, _k - start), s, -z * s);
            }
        }

        /// <summary>p[i] = p[i] * s + c: (q - z) * s with the zero folded into c = -z * s, one pass, no calls.</summary>
        private static void ScaleShift(float* p, int count, float s, float c)
        {
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vs = Vector256.Create(s); var vc = Vector256.Create(c);
                for (; i + 8 <= count; i += 8) Vector256.FusedMultiplyAdd(Vector256.Load(p + i), vs, vc).Store(p + i);
            }
            for (; i < count; i++) p[i] = MathF.FusedMultiplyAdd(p[i], s, c);
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
            // Codes are below 256, so the signed conversion (one instruction everywhere) is exact.
            Vector128.ConvertToSingle(a.AsInt32()).Store(dst);
            Vector128.ConvertToSingle(b.AsInt32()).Store(dst + 4);
            Vector128.ConvertToSingle(c.AsInt32()).Store(dst + 8);
            Vector128.ConvertToSingle(d.AsInt32()).Store(dst + 12);
        }

        /// <summary>
        /// e4m3fn → float32 without a table or float denormals (which cost a microcode assist per lane): exponent
        /// and mantissa go to bits 20..26 with 120 added to the exponent field, giving 2^(e-7) (1 + m/8) for normal
        /// codes; for e = 0 that reads 2^-7 (1 + m/8), and the true subnormal m 2^-9 is 2 (that - 2^-7). The sign is
        /// or-ed in last. (The NaN codes 0x7F/0xFF decode as ±480; checkpoints do not hold NaN weights.)
        /// </summary>
        private static void DecodeFp8(byte* src, int count, float* dst)
        {
            int i = 0;
            for (; i + 16 <= count; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Load(src + i));
                var (a, b) = Vector128.Widen(lo);
                var (c, d) = Vector128.Widen(hi);
                Fp8(a).Store(dst + i);
                Fp8(b).Store(dst + i + 4);
                Fp8(c).Store(dst + i + 8);
                Fp8(d).Store(dst + i + 12);
            }
            for (; i < count; i++)
            {
                uint u = src[i];
                float v = BitConverter.UInt32BitsToSingle(((u & 0x7F) << 20) + (120u << 23));
                if ((u & 0x78) == 0) v = 2 * (v - 1f / 128);
                dst[i] = (u & 0x80) != 0 ? -v : v;
            }
        }

        private static Vector128<float> Fp8(Vector128<uint> u)
        {
            var normal = (((u & Vector128.Create(0x7Fu)) << 20) + Vector128.Create(120u << 23)).AsSingle();
            var sub = (normal - Vector128.Create(1f / 128)) * Vector128.Create(2f);
            var isSub = Vector128.Equals(u & Vector128.Create(0x78u), Vector128<uint>.Zero).AsSingle();
            var sign = ((u & Vector128.Create(0x80u)) << 24).AsSingle();
            return Vector128.ConditionalSelect(isSub, sub, normal) | sign;
        }
    }
}
