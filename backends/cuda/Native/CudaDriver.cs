using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>
/// Raw bindings to the CUDA driver API (libcuda). Every function returns a CUresult; callers wrap each call in
/// <see cref="CudaCheck.Driver"/> so failures carry the error name and the call. Handles are plain pointers
/// here and owned by the SafeHandle types in DeviceHandles.cs.
/// </summary>
internal static unsafe partial class CudaDriver
{
    private const string Lib = NativeLibraries.Driver;

    /// <summary>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</summary>
    internal const int AttrMultiprocessorCount = 16;
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR.</summary>
    internal const int AttrComputeMajor = 75;
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR.</summary>
    internal const int AttrComputeMinor = 76;
    /// <summary>CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN.</summary>
    internal const int AttrMaxSharedPerBlockOptin = 97;
    /// <summary>CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.</summary>
    internal const int FuncAttrMaxDynamicShared = 8;
    /// <summary>CU_STREAM_NON_BLOCKING: no implicit synchronization with the legacy default stream.</summary>
    internal const uint StreamNonBlocking = 1;
    /// <summary>CU_MEMPOOL_ATTR_RELEASE_THRESHOLD.</summary>
    internal const int MemPoolAttrReleaseThreshold = 4;
    /// <summary>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL.</summary>
    internal const int CaptureModeThreadLocal = 1;

    [LibraryImport(Lib)] internal static partial int cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial int cuDriverGetVersion(int* version);
    [LibraryImport(Lib)] internal static partial int cuGetErrorName(int error, byte** name);
    [LibraryImport(Lib)] internal static partial int cuGetErrorString(int error, byte** text);

    [LibraryImport(Lib)] internal static partial int cuDeviceGetCount(int* count);
    [LibraryImport(Lib)] internal static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Lib)] internal static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Lib)] internal static partial int cuDeviceGetAttribute(int* value, int attribute, int device);
    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] internal static partial int cuDeviceTotalMem(nuint* bytes, int device);

    [LibraryImport(Lib)] internal static partial int cuDevicePrimaryCtxRetain(nint* context, int device);
    [LibraryImport(Lib, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] internal static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Lib)] internal static partial int cuCtxSetCurrent(nint context);
    [LibraryImport(Lib)] internal static partial int cuCtxGetCurrent(nint* context);
    [LibraryImport(Lib)] internal static partial int cuCtxSynchronize();

    [LibraryImport(Lib)] internal static partial int cuStreamCreate(nint* stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] internal static partial int cuStreamDestroy(nint stream);
    [LibraryImport(Lib)] internal static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(Lib)] internal static partial int cuEventCreate(nint* evt, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuEventDestroy_v2")] internal static partial int cuEventDestroy(nint evt);
    [LibraryImport(Lib)] internal static partial int cuEventRecord(nint evt, nint stream);
    [LibraryImport(Lib)] internal static partial int cuEventSynchronize(nint evt);
    [LibraryImport(Lib)] internal static partial int cuEventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(Lib, EntryPoint = "cuMemAlloc_v2")] internal static partial int cuMemAlloc(ulong* ptr, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemFree_v2")] internal static partial int cuMemFree(ulong ptr);
    [LibraryImport(Lib)] internal static partial int cuMemAllocAsync(ulong* ptr, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial int cuMemFreeAsync(ulong ptr, nint stream);
    [LibraryImport(Lib)] internal static partial int cuDeviceGetDefaultMemPool(nint* pool, int device);
    [LibraryImport(Lib)] internal static partial int cuMemPoolSetAttribute(nint pool, int attribute, void* value);
    [LibraryImport(Lib, EntryPoint = "cuMemAllocHost_v2")] internal static partial int cuMemAllocHost(void** ptr, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemFreeHost(void* ptr);
    [LibraryImport(Lib, EntryPoint = "cuMemGetInfo_v2")] internal static partial int cuMemGetInfo(nuint* free, nuint* total);

    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoD_v2")] internal static partial int cuMemcpyHtoD(ulong dst, void* src, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoH_v2")] internal static partial int cuMemcpyDtoH(void* dst, ulong src, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] internal static partial int cuMemcpyHtoDAsync(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] internal static partial int cuMemcpyDtoHAsync(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoDAsync_v2")] internal static partial int cuMemcpyDtoDAsync(ulong dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial int cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream);
    [LibraryImport(Lib)] internal static partial int cuMemsetD32Async(ulong dst, uint value, nuint count, nint stream);

    [LibraryImport(Lib)] internal static partial int cuModuleLoadData(nint* module, void* image);
    [LibraryImport(Lib)] internal static partial int cuModuleUnload(nint module);
    [LibraryImport(Lib)] internal static partial int cuModuleGetFunction(nint* function, nint module, byte* name);
    [LibraryImport(Lib)] internal static partial int cuFuncSetAttribute(nint function, int attribute, int value);
    [LibraryImport(Lib)] internal static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ, uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(Lib, EntryPoint = "cuStreamBeginCapture_v2")] internal static partial int cuStreamBeginCapture(nint stream, int mode);
    [LibraryImport(Lib)] internal static partial int cuStreamEndCapture(nint stream, nint* graph);
    [LibraryImport(Lib)] internal static partial int cuGraphInstantiateWithFlags(nint* exec, nint graph, ulong flags);
    [LibraryImport(Lib)] internal static partial int cuGraphLaunch(nint exec, nint stream);
    [LibraryImport(Lib)] internal static partial int cuGraphExecDestroy(nint exec);
    [LibraryImport(Lib)] internal static partial int cuGraphDestroy(nint graph);
}
