namespace Modular.Conformance.Suites;

// Thin fixtures: the abstract suites bound to the backend named by MODULAR_BACKEND (default "cpu").
// A backend that wants its own fixture (fixed options, a second device) derives from the suites the same way.

public sealed class SelectedMemory(BackendFixture f) : MemorySuite(f);
public sealed class SelectedKernels(BackendFixture f) : KernelSuite(f);
public sealed class SelectedAttention(BackendFixture f) : AttentionSuite(f);
public sealed class SelectedPerf(BackendFixture f) : PerfSuite(f);
public sealed class SelectedCudaSpecific(BackendFixture f) : CudaSpecificSuite(f);
public sealed class SelectedGolden(BackendFixture f) : GoldenSuite(f);
public sealed class SelectedCapabilities(BackendFixture f) : CapabilitySuite(f);
public sealed class SelectedQuantizedKernels(BackendFixture f) : QuantizedKernelSuite(f);
public sealed class SelectedDeviceSampling(BackendFixture f) : DeviceSamplingSuite(f);
public sealed class SelectedQuantizedGolden(BackendFixture f) : QuantizedGoldenSuite(f);
