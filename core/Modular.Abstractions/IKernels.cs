namespace Modular.Abstractions;

/// <summary>Gated activation functions of MLP blocks.</summary>
public enum Activation
{
    /// <summary>SiLU (swish), as Llama/Qwen/Mistral use.</summary>
    Silu,
    /// <summary>GELU, tanh approximation (Gemma's <c>gelu_pytorch_tanh</c>).</summary>
    GeluTanh,
    /// <summary>GELU, exact erf form.</summary>
    Gelu,
}

/// <summary>
/// The ops a transformer forward pass needs, over row-major tensors whose first dimension is tokens.
/// Every backend implements all of them; conformance compares each against the CPU backend.
/// Calls are enqueued on the backend's stream; results are visible after <see cref="IBackend.Synchronize"/>
/// or any download.
/// </summary>
public interface IKernels
{
    /// <summary>out[t] = table[ids[t]] * scale. table [V,H], ids I32 [T], out [T,H].</summary>
    void Embedding(Tensor table, Tensor ids, float scale, Tensor output);

    /// <summary>
    /// out = x / rms(x) * (weightOffset + w), per row of length H. x, out [T,H]; w [H]. Gemma uses offset 1.
    /// </summary>
    void RmsNorm(Tensor x, Tensor weight, float eps, float weightOffset, Tensor output);

    /// <summary>residual += x; out = RmsNorm(residual). The fused pre-norm of every layer after the first.</summary>
    void AddRmsNorm(Tensor x, Tensor residual, Tensor weight, float eps, float weightOffset, Tensor output);

    /// <summary>
    /// out = x W^T (+ bias). x [T,K], weight [N,K], bias [N] or null, out [T,N]. out may be F32 while x is the
    /// activation dtype (the LM head writes float32 logits).
    /// </summary>
    void Linear(Tensor x, Tensor weight, Tensor? bias, Tensor output);

    /// <summary>
    /// Rotates q [T, Hq*D] and k [T, Hk*D] in place, rotate-half (NeoX) style over the first
    /// <c>cosSin.Shape[1]</c> dims of each head: cosSin [maxPos, rot] holds cos in [0, rot/2) and sin in
    /// [rot/2, rot) for each position, already including any scaling (linear, llama3, yarn). positions I32 [T].
    /// </summary>
    void Rope(Tensor q, Tensor k, Tensor positions, Tensor cosSin, int headDim);

    /// <summary>out = act(gateUp[:, :I]) * gateUp[:, I:]. gateUp [T, 2I], out [T, I].</summary>
    void ActAndMul(Tensor gateUp, Activation activation, Tensor output);

    /// <summary>out = a + b, elementwise; out may alias a.</summary>
    void Add(Tensor a, Tensor b, Tensor output);

    /// <summary>out[i] = x[rows[i]]. rows I32 [R], x [T,H], out [R,H].</summary>
    void GatherRows(Tensor x, Tensor rows, Tensor output);

    /// <summary>
    /// Sparse mixture of experts: softmax over router logits [T,E], take the top-k experts per token
    /// (renormalized over the k when <paramref name="renormalize"/>), out[t] = sum_k w_k * down_e(act(gate_e x) * up_e x).
    /// gateUp [E, 2I, H], down [E, H, I], x [T,H], out [T,H].
    /// </summary>
    void Moe(Tensor x, Tensor routerLogits, Tensor gateUp, Tensor down, int topK, bool renormalize,
        Activation activation, Tensor output);
}
