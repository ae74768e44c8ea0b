namespace Modular.Plugins.Router.Embedding;

/// <summary>A vector stored as its non-zero entries (index ascending is not required).</summary>
/// <param name="Indices">Positions of the non-zero entries.</param>
/// <param name="Values">Their values.</param>
public readonly record struct SparseVector(int[] Indices, float[] Values)
{
    /// <summary>Number of stored entries.</summary>
    public int Count => Indices.Length;

    /// <summary>Dot product with a dense vector of at least the highest index + 1 entries.</summary>
    public float Dot(float[] dense)
    {
        var idx = Indices;
        var val = Values;
        float sum = 0;
        for (int i = 0; i < idx.Length; i++) sum += val[i] * dense[idx[i]];
        return sum;
    }

    /// <summary>The dense form with <paramref name="dimensions"/> entries.</summary>
    public float[] ToDense(int dimensions)
    {
        var d = new float[dimensions];
        for (int i = 0; i < Indices.Length; i++) d[Indices[i]] = Values[i];
        return d;
    }
}
