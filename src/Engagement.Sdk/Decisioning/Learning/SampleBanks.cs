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
        float[]? rentedKeys = null;
        Span<int> relevant = arms.Length <= 1024 ? stackalloc int[arms.Length] : (rented = ArrayPool<int>.Shared.Rent(arms.Length));
        Span<float> keys = arms.Length <= 1024 ? stackalloc float[arms.Length] : (rentedKeys = ArrayPool<float>.Shared.Rent(arms.Length));
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
                    keys[count] = (float)other.ExpectedScore;
                    relevant[count++] = j;
                }
            }

            if (count == 0 && lo > before && lo >= after)
            {
                return size;
            }

            StrongestFirst(keys[..count], relevant[..count]);
            return Count(arms, relevant[..count], c, mine, ma, mb, before, after, size);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
                ArrayPool<float>.Shared.Return(rentedKeys!);
            }
        }
    }

    // Blocks of four vectors of indices: c's scores stay in registers with a mask of the indices it has already lost; the
    // strongest competitors (by expected score) come first, and a block stops as soon as c has lost at every index in it.
    private static int Count(ReadOnlySpan<ArmBelief> arms, ReadOnlySpan<int> relevant, int c, float[]? mine, float ma, float mb, float before, float after, int size)
    {
        var width = Vector<float>.Count;
        var block = 4 * width;
        var vma = new Vector<float>(ma);
        var vmb = new Vector<float>(mb);
        var vbefore = new Vector<float>(before);
        var vafter = new Vector<float>(after);
        var total = Vector<int>.Zero;
        for (var m = 0; m < size; m += block)
        {
            Vector<float> o0, o1, o2, o3;
            if (mine is null)
            {
                o0 = o1 = o2 = o3 = vmb;
            }
            else
            {
                var t = MemoryMarshal.Cast<float, Vector<float>>(mine.AsSpan(m, block));
                o0 = (t[0] * vma) + vmb;
                o1 = (t[1] * vma) + vmb;
                o2 = (t[2] * vma) + vmb;
                o3 = (t[3] * vma) + vmb;
            }

            var l0 = Vector.LessThanOrEqual(o0, vbefore) | Vector.LessThan(o0, vafter);
            var l1 = Vector.LessThanOrEqual(o1, vbefore) | Vector.LessThan(o1, vafter);
            var l2 = Vector.LessThanOrEqual(o2, vbefore) | Vector.LessThan(o2, vafter);
            var l3 = Vector.LessThanOrEqual(o3, vbefore) | Vector.LessThan(o3, vafter);
            foreach (var j in relevant)
            {
                if (Vector.EqualsAll(l0 & l1 & l2 & l3, Vector<int>.AllBitsSet))
                {
                    break;
                }

                var other = arms[j];
                var t = MemoryMarshal.Cast<float, Vector<float>>(other.Samples!.Array.AsSpan(m, block));
                var a = new Vector<float>((float)other.Scale);
                var b = new Vector<float>((float)other.Offset);
                var s0 = (t[0] * a) + b;
                var s1 = (t[1] * a) + b;
                var s2 = (t[2] * a) + b;
                var s3 = (t[3] * a) + b;
                if (j < c)
                {
                    l0 |= Vector.GreaterThanOrEqual(s0, o0);
                    l1 |= Vector.GreaterThanOrEqual(s1, o1);
                    l2 |= Vector.GreaterThanOrEqual(s2, o2);
                    l3 |= Vector.GreaterThanOrEqual(s3, o3);
                }
                else
                {
                    l0 |= Vector.GreaterThan(s0, o0);
                    l1 |= Vector.GreaterThan(s1, o1);
                    l2 |= Vector.GreaterThan(s2, o2);
                    l3 |= Vector.GreaterThan(s3, o3);
                }
            }

            // A won index has a mask of 0; its complement is −1.
            total -= ~l0;
            total -= ~l1;
            total -= ~l2;
            total -= ~l3;
        }

        return Vector.Sum(total);
    }

    // Moves the (up to) eight competitors with the highest expected score to the front, highest first: they beat c most often.
    private static void StrongestFirst(Span<float> keys, Span<int> relevant)
    {
        var lead = Math.Min(8, relevant.Length);
        for (var i = 0; i < lead; i++)
        {
            var best = i;
            for (var k = i + 1; k < relevant.Length; k++)
            {
                if (keys[k] > keys[best])
                {
                    best = k;
                }
            }

            (relevant[i], relevant[best]) = (relevant[best], relevant[i]);
            (keys[i], keys[best]) = (keys[best], keys[i]);
        }
    }

    private static float ScoreAt(in ArmBelief arm, int m)
        => arm.IsFixed ? (float)arm.Offset : ((float)arm.Scale * arm.Samples!.Array[m]) + (float)arm.Offset;
}
