using Modular.Abstractions;

namespace Modular.Models;

/// <summary>
/// Scratch tensors of a step, allocated for a token capacity that grows by doubling and handed out as row
/// slices, so steady-state steps allocate no device memory. <see cref="Generation"/> changes whenever a tensor is
/// reallocated, which tells the runner that captured graphs point at freed memory.
/// </summary>
internal sealed class Workspace(TransformerModel model, int fusedQkvWidth) : IDisposable
{
    internal sealed class StepTensors
    {
        public required Tensor Ids, Positions, Residual, Normed, Q, K, V, AttnOut, O, GateUp, Act, MlpOut;
        public Tensor? RouterLogits;
        /// <summary>Output of the fused q|k|v projection, when the layers were loaded with one (<see cref="LayerWeights.Qkv"/>).</summary>
        public Tensor? Qkv;
    }

    private readonly List<Tensor> _owned = new();
    private int _capacity;
    private StepTensors? _full;
    private int _rowCapacity, _logitCapacity, _idCapacity;
    private Tensor? _rowIndex, _gathered, _logits, _nextIds;

    /// <summary>Bumped on every reallocation.</summary>
    public int Generation { get; private set; }

    public StepTensors Step(int tokens)
    {
        if (tokens > _capacity) Grow(Math.Max(tokens, Math.Max(16, _capacity * 2)));
        var f = _full!;
        return new StepTensors
        {
            Ids = f.Ids.Slice(0, tokens), Positions = f.Positions.Slice(0, tokens),
            Residual = f.Residual.Slice(0, tokens), Normed = f.Normed.Slice(0, tokens),
            Q = f.Q.Slice(0, tokens), K = f.K.Slice(0, tokens), V = f.V.Slice(0, tokens),
            AttnOut = f.AttnOut.Slice(0, tokens), O = f.O.Slice(0, tokens),
            GateUp = f.GateUp.Slice(0, tokens), Act = f.Act.Slice(0, tokens), MlpOut = f.MlpOut.Slice(0, tokens),
            RouterLogits = f.RouterLogits?.Slice(0, tokens), Qkv = f.Qkv?.Slice(0, tokens),
        };
    }

    public (Tensor Index, Tensor Gathered) Rows(int rows, int hidden)
    {
        if (rows > _rowCapacity)
        {
            int capacity = Math.Max(rows, _rowCapacity * 2);
            // Forget the old buffers before allocating: a failed allocation (device out of memory) must not leave
            // disposed tensors behind for the next step to use.
            _rowIndex?.Dispose(); _gathered?.Dispose();
            _rowIndex = _gathered = null;
            _rowCapacity = 0;
            _rowIndex = model.Backend.Allocate(DType.I32, capacity);
            _gathered = model.Backend.Allocate(model.Backend.ActivationDType, capacity, hidden);
            _rowCapacity = capacity;
            Generation++;
        }
        return (_rowIndex!.Slice(0, rows), _gathered!.Slice(0, rows));
    }

    public Tensor Logits(int rows, int vocab)
    {
        if (rows > _logitCapacity)
        {
            int capacity = Math.Max(rows, _logitCapacity * 2);
            _logits?.Dispose();
            _logits = null;
            _logitCapacity = 0;
            // Logits stay float32 whatever the activation dtype: sampling and logprobs need the precision.
            _logits = model.Backend.Allocate(DType.F32, capacity, vocab);
            _logitCapacity = capacity;
            Generation++;
        }
        return _logits!.Slice(0, rows);
    }

    /// <summary>I32 [rows]: greedy token ids chosen on the device.</summary>
    public Tensor NextIds(int rows)
    {
        if (rows > _idCapacity)
        {
            int capacity = Math.Max(rows, Math.Max(16, _idCapacity * 2));
            _nextIds?.Dispose();
            _nextIds = null;
            _idCapacity = 0;
            _nextIds = model.Backend.Allocate(DType.I32, capacity);
            _idCapacity = capacity;
            Generation++;
        }
        return _nextIds!.Slice(0, rows);
    }

    private void Grow(int capacity)
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        // Until the new buffers exist there are none: a failed allocation leaves the workspace empty, not stale.
        _full = null;
        _capacity = 0;
        var c = model.Config;
        var b = model.Backend;
        var a = b.ActivationDType;
        Tensor New(DType dt, params int[] shape) { var t = b.Allocate(dt, shape); _owned.Add(t); return t; }
        int hq = c.NumHeads * c.HeadDim, hk = c.NumKvHeads * c.HeadDim, inter = c.IntermediateSize;
        _full = new StepTensors
        {
            Ids = New(DType.I32, capacity), Positions = New(DType.I32, capacity),
            Residual = New(a, capacity, c.HiddenSize), Normed = New(a, capacity, c.HiddenSize),
            Q = New(a, capacity, hq), K = New(a, capacity, hk), V = New(a, capacity, hk),
            AttnOut = New(a, capacity, hq), O = New(a, capacity, c.HiddenSize),
            GateUp = New(a, capacity, 2 * inter), Act = New(a, capacity, inter), MlpOut = New(a, capacity, c.HiddenSize),
            RouterLogits = c.NumExperts > 0 ? New(a, capacity, c.NumExperts) : null,
            Qkv = fusedQkvWidth > 0 ? New(a, capacity, fusedQkvWidth) : null,
        };
        _capacity = capacity;
        Generation++;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _rowIndex?.Dispose(); _gathered?.Dispose(); _logits?.Dispose(); _nextIds?.Dispose();
    }
}
