using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>
/// cuBLASLt entry points for the FP8 GEMM: handle, matmul and layout descriptors (with the outer-vector scale and bias
/// epilogue attributes of the scaled GEMM), algorithm preference and heuristic, and the matmul itself. Every call
/// returns a cublasStatus_t checked with <see cref="CudaCheck.Blas"/>.
/// </summary>
internal static unsafe partial class CublasLt
{
    private const string Lib = NativeLibraries.CublasLt;

    /// <summary>cudaDataType CUDA_R_8F_E4M3.</summary>
    internal const int R8FE4M3 = 28;
    /// <summary>CUBLASLT_MATMUL_DESC_TRANSA (int32 cublasOperation_t).</summary>
    internal const int DescTransA = 3;
    /// <summary>CUBLASLT_MATMUL_DESC_TRANSB.</summary>
    internal const int DescTransB = 4;
    /// <summary>CUBLASLT_MATMUL_DESC_EPILOGUE (uint32 cublasLtEpilogue_t).</summary>
    internal const int DescEpilogue = 7;
    /// <summary>CUBLASLT_MATMUL_DESC_BIAS_POINTER (device pointer; its value also tells the heuristic the alignment).</summary>
    internal const int DescBiasPointer = 8;
    /// <summary>CUBLASLT_MATMUL_DESC_A_SCALE_POINTER (device pointer to float32 scale(s) of A).</summary>
    internal const int DescAScalePointer = 17;
    /// <summary>CUBLASLT_MATMUL_DESC_B_SCALE_POINTER.</summary>
    internal const int DescBScalePointer = 18;
    /// <summary>
    /// CUBLASLT_MATMUL_DESC_FAST_ACCUM (int8): FP8 products keep their sums in the tensor cores' accumulator instead
    /// of promoting them to float32 every few k-steps.
    /// </summary>
    internal const int DescFastAccum = 25;
    /// <summary>CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE (int32 cudaDataType).</summary>
    internal const int DescBiasDataType = 26;
    /// <summary>CUBLASLT_MATMUL_DESC_A_SCALE_MODE (int32 cublasLtMatmulMatrixScale_t; CUDA 12.8+).</summary>
    internal const int DescAScaleMode = 31;
    /// <summary>CUBLASLT_MATMUL_DESC_B_SCALE_MODE.</summary>
    internal const int DescBScaleMode = 32;
    /// <summary>CUBLASLT_EPILOGUE_BIAS: D = alpha (A B) + beta C + bias broadcast along the columns of D (one per row).</summary>
    internal const int EpilogueBias = 4;
    /// <summary>
    /// CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F: the scale of A is a float32 vector with one entry per row of op(A)
    /// (M) and the scale of B one per column of op(B) (N); product element (i, j) is multiplied by both.
    /// </summary>
    internal const int MatrixScaleOuterVec32F = 3;
    /// <summary>CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64).</summary>
    internal const int PrefMaxWorkspaceBytes = 1;
    /// <summary>CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES (uint32, default 256).</summary>
    internal const int PrefMinAlignmentCBytes = 7;
    /// <summary>CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES (uint32, default 256).</summary>
    internal const int PrefMinAlignmentDBytes = 8;
    /// <summary>cublasStatus_t CUBLAS_STATUS_NOT_SUPPORTED.</summary>
    internal const int StatusNotSupported = 15;

    /// <summary>cublasLtMatmulHeuristicResult_t: the algorithm (64 opaque bytes), its workspace need and state.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct HeuristicResult
    {
        /// <summary>cublasLtMatmulAlgo_t, passed back to cublasLtMatmul as is.</summary>
        public fixed ulong Algo[8];
        /// <summary>Workspace bytes the algorithm needs.</summary>
        public nuint WorkspaceSize;
        /// <summary>cublasStatus_t of this result.</summary>
        public int State;
        /// <summary>Waves of thread blocks over the device.</summary>
        public float WavesCount;
        /// <summary>Reserved by the library.</summary>
        public fixed int Reserved[4];
    }

    [LibraryImport(Lib)] internal static partial int cublasLtCreate(nint* handle);
    [LibraryImport(Lib)] internal static partial int cublasLtDestroy(nint handle);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescCreate(nint* desc, int computeType, int scaleType);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescDestroy(nint desc);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescSetAttribute(nint desc, int attribute, void* value, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cublasLtMatrixLayoutCreate(nint* layout, int type, ulong rows, ulong cols, long ld);
    [LibraryImport(Lib)] internal static partial int cublasLtMatrixLayoutDestroy(nint layout);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceCreate(nint* preference);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceDestroy(nint preference);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceSetAttribute(nint preference, int attribute, void* value, nuint bytes);

    [LibraryImport(Lib)] internal static partial int cublasLtMatmulAlgoGetHeuristic(nint handle, nint desc, nint aDesc, nint bDesc,
        nint cDesc, nint dDesc, nint preference, int requested, HeuristicResult* results, int* returned);

    [LibraryImport(Lib)] internal static partial int cublasLtMatmul(nint handle, nint desc, float* alpha, ulong a, nint aDesc,
        ulong b, nint bDesc, float* beta, ulong c, nint cDesc, ulong d, nint dDesc, HeuristicResult* algo, ulong workspace,
        nuint workspaceBytes, nint stream);
}

/// <summary>A cuBLASLt handle (the library keeps no stream in it: each matmul names its stream).</summary>
internal sealed unsafe class CublasLtHandle : ContextBoundHandle
{
    internal CublasLtHandle(CudaContext context) : base(context)
    {
        nint h;
        CudaCheck.Blas(CublasLt.cublasLtCreate(&h), "cublasLtCreate");
        Adopt(h);
    }

    /// <summary>The raw cublasLtHandle_t.</summary>
    internal nint Raw => handle;

    protected override bool Destroy(nint native) => CublasLt.cublasLtDestroy(native) == 0;
}

/// <summary>A cublasLtMatmulDesc_t: compute type, scale type and the operand transposes.</summary>
internal sealed unsafe class CublasLtMatmulDesc : SafeHandle
{
    internal CublasLtMatmulDesc(int computeType, int scaleType, int transA, int transB) : base(0, true)
    {
        nint d;
        CudaCheck.Blas(CublasLt.cublasLtMatmulDescCreate(&d, computeType, scaleType), "cublasLtMatmulDescCreate");
        SetHandle(d);
        CudaCheck.Blas(CublasLt.cublasLtMatmulDescSetAttribute(d, CublasLt.DescTransA, &transA, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSA)");
        CudaCheck.Blas(CublasLt.cublasLtMatmulDescSetAttribute(d, CublasLt.DescTransB, &transB, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSB)");
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw descriptor.</summary>
    internal nint Raw => handle;

    /// <summary>
    /// Sets an int32 attribute and returns the cublasStatus_t instead of throwing: a library older than the attribute
    /// answers INVALID_VALUE, which callers treat as "feature absent" rather than an error.
    /// </summary>
    internal int TrySetInt32(int attribute, int value) =>
        CublasLt.cublasLtMatmulDescSetAttribute(handle, attribute, &value, sizeof(int));

    /// <summary>Sets an int8 (flag) attribute, checked.</summary>
    internal void SetInt8(int attribute, sbyte value, string name) =>
        CudaCheck.Blas(CublasLt.cublasLtMatmulDescSetAttribute(handle, attribute, &value, sizeof(sbyte)), $"cublasLtMatmulDescSetAttribute({name} = {value})");

    /// <summary>Sets an int32 (enum) attribute, checked.</summary>
    internal void SetInt32(int attribute, int value, string name) =>
        CudaCheck.Blas(TrySetInt32(attribute, value), $"cublasLtMatmulDescSetAttribute({name} = {value})");

    /// <summary>Sets a device-pointer attribute (scale vectors, bias), checked; 0 clears it.</summary>
    internal void SetPointer(int attribute, ulong pointer, string name) =>
        CudaCheck.Blas(CublasLt.cublasLtMatmulDescSetAttribute(handle, attribute, &pointer, (nuint)sizeof(ulong)),
            $"cublasLtMatmulDescSetAttribute({name})");

    protected override bool ReleaseHandle() => CublasLt.cublasLtMatmulDescDestroy(handle) == 0;
}

/// <summary>A cublasLtMatrixLayout_t: column-major rows x cols with leading dimension ld.</summary>
internal sealed unsafe class CublasLtLayout : SafeHandle
{
    internal CublasLtLayout(int type, long rows, long cols, long ld) : base(0, true)
    {
        nint l;
        CudaCheck.Blas(CublasLt.cublasLtMatrixLayoutCreate(&l, type, (ulong)rows, (ulong)cols, ld), $"cublasLtMatrixLayoutCreate(type {type}, {rows}x{cols}, ld {ld})");
        SetHandle(l);
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw layout.</summary>
    internal nint Raw => handle;

    protected override bool ReleaseHandle() => CublasLt.cublasLtMatrixLayoutDestroy(handle) == 0;
}

/// <summary>A cublasLtMatmulPreference_t limiting the workspace the heuristic may pick algorithms for.</summary>
internal sealed unsafe class CublasLtPreference : SafeHandle
{
    /// <param name="maxWorkspaceBytes">Largest workspace an algorithm may need.</param>
    /// <param name="minAlignmentCdBytes">
    /// Alignment the caller guarantees for C and D (0 keeps the library's 256): algorithms that need more are excluded.
    /// </param>
    internal CublasLtPreference(ulong maxWorkspaceBytes, uint minAlignmentCdBytes = 0) : base(0, true)
    {
        nint p;
        CudaCheck.Blas(CublasLt.cublasLtMatmulPreferenceCreate(&p), "cublasLtMatmulPreferenceCreate");
        SetHandle(p);
        CudaCheck.Blas(CublasLt.cublasLtMatmulPreferenceSetAttribute(p, CublasLt.PrefMaxWorkspaceBytes, &maxWorkspaceBytes, sizeof(ulong)),
            "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
        if (minAlignmentCdBytes == 0) return;
        CudaCheck.Blas(CublasLt.cublasLtMatmulPreferenceSetAttribute(p, CublasLt.PrefMinAlignmentCBytes, &minAlignmentCdBytes, sizeof(uint)),
            "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C_BYTES)");
        CudaCheck.Blas(CublasLt.cublasLtMatmulPreferenceSetAttribute(p, CublasLt.PrefMinAlignmentDBytes, &minAlignmentCdBytes, sizeof(uint)),
            "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D_BYTES)");
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw preference.</summary>
    internal nint Raw => handle;

    protected override bool ReleaseHandle() => CublasLt.cublasLtMatmulPreferenceDestroy(handle) == 0;
}
