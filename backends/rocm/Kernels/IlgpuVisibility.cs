using System.Runtime.CompilerServices;

// ILGPU's CPU accelerator emits a dynamic assembly ("ILGPURuntime") that calls the kernels; the kernels' internal
// parameter types (AttentionShape) must be visible to it.
[assembly: InternalsVisibleTo("ILGPURuntime")]
