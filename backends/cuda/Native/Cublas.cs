using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>Raw bindings to cuBLAS: the handle, its stream and workspace, and the mixed-precision GEMM.</summary>
internal static unsafe partial class Cublas
{
    private const string Lib = NativeLibraries.Cublas;

    /// <summary>CUBLAS_OP_N.</summary>
    internal const int OpN = 0;
    /// <summary>CUBLAS_OP_T.</summary>
    internal const int OpT = 1;
    /// <summary>cudaDataType CUDA_R_32F.</summary>
    internal const int R32F = 0;
    /// <summary>cudaDataType CUDA_R_16F.</summary>
    internal const int R16F = 2;
    /// <summary>cudaDataType CUDA_R_16BF.</summary>
    internal const int R16BF = 14;
    /// <summary>CUBLAS_COMPUTE_32F: products and sums in float32.</summary>
    internal const int Compute32F = 68;
    /// <summary>CUBLAS_GEMM_DEFAULT: let the library pick (tensor cores for bf16).</summary>
    internal const int GemmDefault = -1;

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] internal static partial int cublasCreate(nint* handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] internal static partial int cublasDestroy(nint handle);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] internal static partial int cublasSetStream(nint handle, nint stream);
    [LibraryImport(Lib, EntryPoint = "cublasSetWorkspace_v2")] internal static partial int cublasSetWorkspace(nint handle, ulong workspace, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cublasGetVersion_v2(nint handle, int* version);
    [LibraryImport(Lib)] internal static partial byte* cublasGetStatusName(int status);

    [LibraryImport(Lib)] internal static partial int cublasGemmEx(nint handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int aType, int lda, ulong b, int bType, int ldb, float* beta, ulong c, int cType, int ldc,
        int computeType, int algo);

    [LibraryImport(Lib)] internal static partial int cublasGemmStridedBatchedEx(nint handle, int transa, int transb,
        int m, int n, int k, float* alpha, ulong a, int aType, int lda, long strideA, ulong b, int bType, int ldb,
        long strideB, float* beta, ulong c, int cType, int ldc, long strideC, int batchCount, int computeType, int algo);
}
