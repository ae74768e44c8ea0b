using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>A failed CUDA, NVRTC or cuBLAS call: the message names the call and the library's error name.</summary>
public sealed class CudaException(string message, int code) : Exception(message)
{
    /// <summary>The library's numeric status.</summary>
    public int Code { get; } = code;
}

/// <summary>Turns status codes into <see cref="CudaException"/>s naming the failed call.</summary>
internal static unsafe class CudaCheck
{
    /// <summary>Throws unless a driver call returned CUDA_SUCCESS.</summary>
    internal static void Driver(int result, string call)
    {
        if (result != 0) throw new CudaException($"{call} failed: {DriverErrorName(result)} ({result}): {DriverErrorText(result)}", result);
    }

    /// <summary>Throws unless an NVRTC call returned NVRTC_SUCCESS.</summary>
    internal static void Nvrtc(int result, string call)
    {
        if (result == 0) return;
        string name;
        try { name = Marshal.PtrToStringUTF8((nint)Native.Nvrtc.nvrtcGetErrorString(result)) ?? "?"; }
        catch (Exception) { name = "NVRTC_ERROR"; }
        throw new CudaException($"{call} failed: {name} ({result})", result);
    }

    /// <summary>Throws unless a cuBLAS call returned CUBLAS_STATUS_SUCCESS.</summary>
    internal static void Blas(int result, string call)
    {
        if (result == 0) return;
        throw new CudaException($"{call} failed: {BlasStatusName(result)} ({result})", result);
    }

    /// <summary>The cublasStatus_t's enum name, e.g. CUBLAS_STATUS_NOT_SUPPORTED (for refusals that are not errors).</summary>
    internal static string BlasStatusName(int result)
    {
        try { return Marshal.PtrToStringUTF8((nint)Native.Cublas.cublasGetStatusName(result)) ?? "?"; }
        catch (Exception) { return "CUBLAS_STATUS"; }
    }

    /// <summary>The CUresult's enum name, e.g. CUDA_ERROR_OUT_OF_MEMORY.</summary>
    internal static string DriverErrorName(int result)
    {
        byte* p = null;
        try
        {
            if (CudaDriver.cuGetErrorName(result, &p) == 0 && p != null) return Marshal.PtrToStringUTF8((nint)p) ?? "?";
        }
        catch (Exception) { }
        return "CUDA_ERROR_UNKNOWN_CODE";
    }

    private static string DriverErrorText(int result)
    {
        byte* p = null;
        try
        {
            if (CudaDriver.cuGetErrorString(result, &p) == 0 && p != null) return Marshal.PtrToStringUTF8((nint)p) ?? "";
        }
        catch (Exception) { }
        return "";
    }
}
