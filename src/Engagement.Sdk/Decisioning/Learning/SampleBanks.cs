using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// Thompson draws over <see cref="PosteriorSampleBank"/>s. The score of arm j at index m is a_j · θ_j[m] + b_j in single
/// precision (a fixed arm scores b_j); the winner at m is the highest score, ties to the lowest index. The scalar winner and
/// the vectorised count use the same operations (a multiply and an add, each rounded to single precision), so the count of
/// the indices an arm wins is exactly the number of draws that choose it.
/// </summary>
internal static class SampleBanks
{
    private const int Chunk = 256;

    /// <summary>The banks' common size, or 0 when a random arm has none or the sizes differ (or no arm is random).</summary>
    public static int CommonSize(ReadOnlySpan<ArmBelief> arms)
    {
        var size = 0;
        foreach (ref readonly var arm in arms)
        {
            if (arm.IsFixed)
            {
                continue;
            }

            if (arm.Samples is not { } bank || (size != 0 && bank.Size != size))
            {
                return 0;
            }

            size = bank.Size;
        }

        return size;
    }

    /// <summary>The arm with the highest score at index <paramref name="m"/>, ties to the lowest index.</summary>
    public static int WinnerAt(ReadOnlySpan<ArmBelief> arms, int m)
    {
        var best = 0;
        var bestScore = ScoreAt(arms[0], m);
        for (var j = 1; j < arms.Length; j++)
        {
            var score = ScoreAt(arms[j], m);
            if (score > bestScore)
            {
                best = j;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>The number of indices m at which arm <paramref name="c"/> wins.</summary>
    public static int Wins(ReadOnlySpan<ArmBelief> arms, int c)
    {
        var size = CommonSize(arms);
        var me = arms[c];
        float[]? mine = null;
        float ma = 0, mb = (float)me.Offset, lo = mb, hi = mb;
        if (!me.IsFixed)
        {
            var bank = me.Samples!;
            mine = bank.Array;
            ma = (float)me.Scale;
            mb = (float)me.Offset;
            lo = (ma * bank.Min) + mb;
            hi = (ma * bank.Max) + mb;
        }

        // Fixed competitors become two thresholds: c must score above those before it and at least those after it. A random
        // competitor whose highest score cannot reach c's lowest is left out (the scores are monotone in θ, rounding included).
        var before = float.NegativeInfinity;
        var after = float.NegativeInfinity;
        int[]? rented = null;
        Span<int> relevant = arms.Length <= 1024 ? stackalloc int[arms.Length] : (rented = ArrayPool<int>.Shared.Rent(arms.Length));
        var count = 0;
        try
        {
            for (var j = 0; j < arms.Length; j++)
            {
                if (j == c)
                {
                    continue;
                }

                var other = arms[j];
                if (other.IsFixed)
                {
                    var s = (float)other.Offset;
                    if (j < c ? s >= hi : s > hi)
                    {
                        return 0;
                    }

                    if (j < c)
                    {
                        before = Math.Max(before, s);
                    }
                    else
                    {
                        after = Math.Max(after, s);
                    }

                    continue;
                }

                var top = ((float)other.Scale * other.Samples!.Max) + (float)other.Offset;
                if (j < c ? top >= lo : top > lo)
                {
                    relevant[count++] = j;
                }
            }

            if (count == 0 && lo > before && lo >= after)
            {
                return size;
            }

            return Count(arms, relevant[..count], c, mine, ma, mb, before, after, size);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    private static int Count(ReadOnlySpan<ArmBelief> arms, ReadOnlySpan<int> relevant, int c, float[]? mine, float ma, float mb, float before, float after, int size)
    {
        Span<float> own = stackalloc float[Chunk];
        Span<float> bestBefore = stackalloc float[Chunk];
        Span<float> bestAfter = stackalloc float[Chunk];
        var wins = 0;
        for (var start = 0; start < size; start += Chunk)
        {
            var n = Math.Min(Chunk, size - start);
            var o = own[..n];
            if (mine is null)
            {
                o.Fill(mb);
            }
            else
            {
                Scores(mine.AsSpan(start, n), ma, mb, o);
            }

            var bb = bestBefore[..n];
            var ba = bestAfter[..n];
            bb.Fill(before);
            ba.Fill(after);
            foreach (var j in relevant)
            {
                var other = arms[j];
                MaxInto(other.Samples!.Array.AsSpan(start, n), (float)other.Scale, (float)other.Offset, j < c ? bb : ba);
            }

            wins += CountWins(o, bb, ba);
        }

        return wins;
    }

    private static float ScoreAt(in ArmBelief arm, int m)
        => arm.IsFixed ? (float)arm.Offset : ((float)arm.Scale * arm.Samples!.Array[m]) + (float)arm.Offset;

    // The spans' lengths are multiples of 64, so of every vector width.
    private static void Scores(ReadOnlySpan<float> theta, float a, float b, Span<float> into)
    {
        var t = MemoryMarshal.Cast<float, Vector<float>>(theta);
        var o = MemoryMarshal.Cast<float, Vector<float>>(into);
        var va = new Vector<float>(a);
        var vb = new Vector<float>(b);
        for (var i = 0; i < t.Length; i++)
        {
            o[i] = (t[i] * va) + vb;
        }
    }

    private static void MaxInto(ReadOnlySpan<float> theta, float a, float b, Span<float> best)
    {
        var t = MemoryMarshal.Cast<float, Vector<float>>(theta);
        var m = MemoryMarshal.Cast<float, Vector<float>>(best);
        var va = new Vector<float>(a);
        var vb = new Vector<float>(b);
        for (var i = 0; i < t.Length; i++)
        {
            m[i] = Vector.Max(m[i], (t[i] * va) + vb);
        }
    }

    private static int CountWins(ReadOnlySpan<float> own, ReadOnlySpan<float> before, ReadOnlySpan<float> after)
    {
        var o = MemoryMarshal.Cast<float, Vector<float>>(own);
        var bb = MemoryMarshal.Cast<float, Vector<float>>(before);
        var ba = MemoryMarshal.Cast<float, Vector<float>>(after);
        var total = Vector<int>.Zero;
        for (var i = 0; i < o.Length; i++)
        {
            total -= Vector.GreaterThan(o[i], bb[i]) & Vector.GreaterThanOrEqual(o[i], ba[i]);
        }

        return Vector.Sum(total);
    }
}
