using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Modular.Abstractions;

namespace Modular.Backends.Rocm.Device;

/// <summary>Which ILGPU runtime drives the device.</summary>
public enum AcceleratorFamily
{
    /// <summary>An OpenCL device (ROCm's OpenCL on AMD GPUs, pocl on CPUs, any ICD).</summary>
    OpenCL,
    /// <summary>ILGPU's CUDA runtime (PTX), only when asked for with <c>accelerator=cuda</c>.</summary>
    Cuda,
    /// <summary>ILGPU's CPU accelerator: a slow simulator, the last resort.</summary>
    Cpu,
}

/// <summary>A device picked for the backend, with the context that owns it.</summary>
/// <param name="Context">ILGPU context (disposed with the backend).</param>
/// <param name="Device">The chosen device.</param>
/// <param name="Family">Its runtime.</param>
/// <param name="IsGpu">True for a GPU (ranks the plugin above the CPU backend).</param>
/// <param name="RewriteGenericPointers">
/// True for an OpenCL 3.0 device without the generic address space feature (pocl's CPU device): ILGPU emits
/// <c>__generic</c> view pointers, which such a device rejects, so the loader rewrites them to <c>global</c>.
/// </param>
internal sealed record DeviceChoice(Context Context, ILGPU.Runtime.Device Device, AcceleratorFamily Family, bool IsGpu, bool RewriteGenericPointers)
{
    /// <summary>"opencl: NAME (GPU, OpenCL 3.0, ...)" for logs and <see cref="DeviceInfo.Name"/>.</summary>
    public string Describe() => Device switch
    {
        CLDevice cl => $"opencl: {cl.Name.Trim()} ({(IsGpu ? "GPU" : "CPU")}, {cl.DeviceVersion}, {cl.VendorName.Trim()}{(RewriteGenericPointers ? ", generic pointers rewritten" : "")})",
        CudaDevice cu => $"cuda: {cu.Name} (sm_{cu.Architecture?.Major}{cu.Architecture?.Minor})",
        _ => $"ilgpu-cpu: {Device.Name} (simulated, {Device.MaxNumThreadsPerGroup} threads/group)",
    };
}

/// <summary>
/// Finds ILGPU devices and picks one: an OpenCL GPU first, then any OpenCL device, then ILGPU's CPU accelerator;
/// CUDA only when the backend setting <c>accelerator=cuda</c> asks for it (the cuda plugin is the better choice
/// on NVIDIA hardware).
/// </summary>
internal static class DeviceSelector
{
    /// <summary>Setting key that picks the runtime: auto (default), opencl, cuda or cpu.</summary>
    public const string AcceleratorSetting = "accelerator";

    /// <summary>Reads the accelerator setting; throws naming the key when its value is unknown.</summary>
    public static string Requested(BackendOptions options)
    {
        string value = "auto";
        if (options.Settings is { } s && s.TryGetValue(AcceleratorSetting, out var v) && !string.IsNullOrWhiteSpace(v))
            value = v.Trim().ToLowerInvariant();
        return value is "auto" or "opencl" or "cuda" or "cpu"
            ? value
            : throw new ArgumentException($"backend setting '{AcceleratorSetting}' is '{value}'; expected auto, opencl, cuda or cpu");
    }

    /// <summary>Creates a context holding every device ILGPU can see (OpenCL devices of any version included).</summary>
    public static Context CreateContext(bool withCuda)
    {
        NativeLibraries.Install();
        return Context.Create(b =>
        {
            b.OpenCL(_ => true);
            if (withCuda)
            {
                b.Cuda();
                // ILGPU's PTX backend has no exp/tanh of its own; ILGPU.Algorithms supplies them.
                b.EnableAlgorithms();
            }
            // 4 x 4 = 16 threads per group, one group at a time: the simulator runs each thread on an OS thread
            // that spins at barriers, so bigger groups only burn cores (the kernels adapt their tiles to 16).
            b.CPU(CPUDevice.Default);
            b.Optimize(OptimizationLevel.O1);
        });
    }

    /// <summary>OpenCL devices the kernels can run on, GPUs first.</summary>
    public static List<CLDevice> UsableOpenCL(Context ctx)
    {
        var list = new List<CLDevice>();
        foreach (var d in ctx.GetCLDevices())
            if (d.DeviceVersion >= CLDeviceVersion.CL20) list.Add(d);
        // Stable: GPUs (and other accelerators) before CPU devices, otherwise enumeration order.
        var gpus = list.FindAll(d => !IsCpu(d));
        gpus.AddRange(list.FindAll(IsCpu));
        return gpus;
    }

    /// <summary>Why OpenCL devices were passed over (version below 2.0), for error messages.</summary>
    public static string Skipped(Context ctx)
    {
        var parts = new List<string>();
        foreach (var d in ctx.GetCLDevices())
            if (d.DeviceVersion < CLDeviceVersion.CL20) parts.Add($"{d.Name.Trim()} ({d.DeviceVersion}: ILGPU's OpenCL code needs 2.0+)");
        return parts.Count == 0 ? "" : "; skipped " + string.Join(", ", parts);
    }

    private static bool IsCpu(CLDevice d) => (d.DeviceType & CLDeviceType.CL_DEVICE_TYPE_CPU) != 0;

    /// <summary>Picks the device named by the options; throws with what was found when none fits.</summary>
    public static DeviceChoice Open(BackendOptions options)
    {
        var want = Requested(options);
        var ctx = CreateContext(withCuda: want == "cuda");
        try
        {
            var choice = want switch
            {
                "cuda" => PickCuda(ctx, options.DeviceIndex),
                "cpu" => PickCpu(ctx),
                "opencl" => PickOpenCL(ctx, options.DeviceIndex)
                    ?? throw new InvalidOperationException($"accelerator=opencl but no usable OpenCL device was found{Skipped(ctx)} (install an ICD, e.g. Debian's pocl-opencl-icd or ROCm's OpenCL runtime)"),
                _ => PickOpenCL(ctx, options.DeviceIndex) ?? PickCpu(ctx),
            };
            return choice;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    private static DeviceChoice? PickOpenCL(Context ctx, int index)
    {
        var usable = UsableOpenCL(ctx);
        if (usable.Count == 0) return null;
        if ((uint)index >= (uint)usable.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"OpenCL device index {index} but only {usable.Count} usable device(s)");
        var d = usable[index];
        bool rewrite = !d.Capabilities.GenericAddressSpace;
        if (rewrite) ForceGenericAddressSpace(d);
        return new DeviceChoice(ctx, d, AcceleratorFamily.OpenCL, !IsCpu(d), rewrite);
    }

    private static DeviceChoice PickCuda(Context ctx, int index)
    {
        var devices = ctx.GetCudaDevices();
        if (devices.Count == 0) throw new InvalidOperationException("accelerator=cuda but ILGPU found no CUDA device (is libcuda.so.1 from the NVIDIA driver installed?)");
        if ((uint)index >= (uint)devices.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"CUDA device index {index} but only {devices.Count} device(s)");
        return new DeviceChoice(ctx, devices[index], AcceleratorFamily.Cuda, true, false);
    }

    private static DeviceChoice PickCpu(Context ctx) =>
        new(ctx, ctx.GetCPUDevice(0), AcceleratorFamily.Cpu, false, false);

    /// <summary>
    /// ILGPU's CLAccelerator refuses devices that do not report the generic address space. Its generated code uses
    /// generic pointers only for views into global memory, which <see cref="KernelLoader"/> rewrites, so the flag
    /// is set here (it has no public setter) to let the accelerator be created.
    /// </summary>
    private static void ForceGenericAddressSpace(CLDevice d)
    {
        var prop = d.Capabilities.GetType().GetProperty("GenericAddressSpace")
            ?? throw new InvalidOperationException("this ILGPU version has no GenericAddressSpace capability to override");
        prop.SetValue(d.Capabilities, true);
    }

    /// <summary>Probe score and detail: 2 for an OpenCL GPU, 0.5 for an OpenCL CPU device or ILGPU's CPU simulator.</summary>
    public static (double Score, string Detail) Probe()
    {
        try
        {
            using var ctx = CreateContext(withCuda: false);
            var usable = UsableOpenCL(ctx);
            if (usable.Count > 0)
            {
                var d = usable[0];
                bool gpu = !IsCpu(d);
                return (gpu ? 2 : 0.5, $"opencl {(gpu ? "GPU" : "CPU device")}: {d.Name.Trim()} ({d.DeviceVersion}, {usable.Count} usable){Skipped(ctx)}");
            }
            return (0.5, $"no usable OpenCL device{Skipped(ctx)}; ILGPU CPU accelerator only (slow simulator)");
        }
        catch (Exception e)
        {
            return (0, $"ILGPU could not start: {e.GetType().Name}: {e.Message}");
        }
    }
}
