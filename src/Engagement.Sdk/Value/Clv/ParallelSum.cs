namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Sums per-row contributions over a fixed partition of the rows, in parallel when there are many: each chunk's partial sums
/// are added in chunk order, so the result does not depend on thread scheduling.
/// </summary>
internal static class ParallelSum
{
    private const int ChunkSize = 16_384;

    /// <summary>Adds up <paramref name="width"/> sums over rows [0, <paramref name="rows"/>).</summary>
    /// <param name="rows">The number of rows.</param>
    /// <param name="width">How many sums each row contributes to.</param>
    /// <param name="body">Adds rows [start, end) into the span.</param>
    /// <returns>The sums.</returns>
    public static double[] Run(int rows, int width, RowRange body)
    {
        var chunks = (rows + ChunkSize - 1) / ChunkSize;
        var partials = new double[Math.Max(chunks, 1) * width];
        if (chunks <= 1)
        {
            body(0, rows, partials.AsSpan(0, width));
        }
        else
        {
            ClvParallel.For(0, chunks, c => body(c * ChunkSize, Math.Min(rows, (c + 1) * ChunkSize), partials.AsSpan(c * width, width)));
        }

        var result = new double[width];
        for (var c = 0; c < Math.Max(chunks, 1); c++)
        {
            for (var k = 0; k < width; k++)
            {
                result[k] += partials[(c * width) + k];
            }
        }

        return result;
    }

    /// <summary>Adds the contributions of rows [start, end) into <paramref name="sums"/>.</summary>
    /// <param name="start">The first row.</param>
    /// <param name="end">One past the last row.</param>
    /// <param name="sums">The sums to add to.</param>
    public delegate void RowRange(int start, int end, Span<double> sums);
}
