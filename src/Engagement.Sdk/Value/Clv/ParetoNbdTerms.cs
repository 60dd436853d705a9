using System.Runtime.CompilerServices;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The Pareto/NBD likelihood's hypergeometric halves of A₀, term(x, y) = ln[₂F₁(…; z(y)) / (max(α, β) + y)^{r+s+x}], for
/// every distinct (x, y) pair of a data set, with their exact derivatives in (r, α, s, β).
/// <para>
/// Each is ln[(r + s + x) I_x(y)] with I_x(y) = ∫_y^∞ (α + τ)^−(r+x) (β + τ)^−(s+1) dτ (the hypergeometric function is this
/// integral in Euler's form). Integrating the derivative of (α + τ)^−(r+x) (β + τ)^−s by parts links neighbouring x: with
/// J_x = I_x (α + y)^(r+x) (β + y)^s and ζ = (α − β)/(α + y),
/// (r + s + x) J_x = 1 + (r + x) ζ J_{x+1}.
/// Run downwards in x this recurrence is stable when |ζ| &lt; 1: a rounding error is multiplied by (r + x)|ζ|/(r + s + x) &lt; 1
/// per step, and for ζ ≥ 0 every quantity is positive. So for each distinct y the pairs' largest x is summed by the series
/// (one series per y, or per run of x values with a gap wider than <see cref="MaxGap"/> between them) and the smaller x
/// follow by the recurrence at a few multiplications each, instead of one series per pair. Where ζ ≤ −<see cref="MaxBackwardRatio"/>
/// (β much larger than α + y) the downward recurrence would amplify errors, and each pair is summed by its own series as before.
/// </para>
/// </summary>
internal static class ParetoNbdTerms
{
    /// <summary>The downward recurrence is used while ζ &gt; −this (errors shrink by about |ζ| per step).</summary>
    internal const double MaxBackwardRatio = 0.75;

    /// <summary>A run of recurrence steps longer than this between two pairs' x values costs more than a new series.</summary>
    internal const int MaxGap = 48;

    private static readonly ConditionalWeakTable<(int X, int Y)[], Groups> Plans = new();

    /// <summary>term(x, y) for each pair (x, index of y in <paramref name="values"/>).</summary>
    public static Dual[] Compute(Dual r, Dual alpha, Dual s, Dual beta, (int X, int Y)[] pairs, double[] values)
    {
        var terms = new Dual[pairs.Length];
        var groups = Plans.GetValue(pairs, static p => new Groups(p));
        var maxX = groups.MaxX;
        var rx = new Dual[maxX + 1];
        var rsx = new Dual[maxX + 1];
        var logRsx = new Dual[maxX + 1];
        for (var x = 0; x <= maxX; x++)
        {
            rx[x] = r + x;
            rsx[x] = r + s + x;
            logRsx[x] = Dual.Log(rsx[x]);
        }

        void Group(int g)
        {
            var (from, to) = (groups.Start[g], groups.Start[g + 1]);
            var y = values[pairs[groups.Order[from]].Y];
            var logAlphaY = Dual.Log(alpha + y);
            var logBetaY = Dual.Log(beta + y);
            var ratio = (alpha - beta) / (alpha + y);
            if (!(ratio.V > -MaxBackwardRatio))
            {
                for (var i = from; i < to; i++)
                {
                    var k = groups.Order[i];
                    terms[k] = Series(r, alpha, s, beta, pairs[k].X, y);
                }

                return;
            }

            // Downwards through the group's pairs (sorted by x): a series at the top of each run, the recurrence below it.
            Dual j = default;
            var at = -1;
            for (var i = to - 1; i >= from; i--)
            {
                var k = groups.Order[i];
                var x = pairs[k].X;
                if (at < 0 || at - x > MaxGap)
                {
                    j = Dual.Exp(Series(r, alpha, s, beta, x, y) - logRsx[x] + (rx[x] * logAlphaY) + (s * logBetaY));
                }
                else
                {
                    for (var step = at - 1; step >= x; step--)
                    {
                        j = (1 + (rx[step] * ratio * j)) / rsx[step];
                    }
                }

                at = x;
                terms[k] = logRsx[x] + Dual.Log(j) - (rx[x] * logAlphaY) - (s * logBetaY);
            }
        }

        if (pairs.Length > 2048)
        {
            ClvParallel.For(0, groups.Count, Group);
        }
        else
        {
            for (var g = 0; g < groups.Count; g++)
            {
                Group(g);
            }
        }

        return terms;
    }

    /// <summary>term(x, y) by the hypergeometric series (Euler's transformation where it converges faster).</summary>
    public static Dual Series(Dual r, Dual alpha, Dual s, Dual beta, double x, double y)
    {
        var rsx = r + s + x;
        return alpha.V >= beta.V
            ? Dual.LogHypergeometric2F1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + y)) - (rsx * Dual.Log(alpha + y))
            : Dual.LogHypergeometric2F1(rsx, r + x, rsx + 1, (beta - alpha) / (beta + y)) - (rsx * Dual.Log(beta + y));
    }

    /// <summary>A data set's pairs grouped by y, each group sorted by x: computed once per pair table (shared by its resamples).</summary>
    private sealed class Groups
    {
        public Groups((int X, int Y)[] pairs)
        {
            Order = new int[pairs.Length];
            for (var k = 0; k < pairs.Length; k++)
            {
                Order[k] = k;
                MaxX = Math.Max(MaxX, pairs[k].X);
            }

            Array.Sort(Order, (a, b) => pairs[a].Y != pairs[b].Y ? pairs[a].Y.CompareTo(pairs[b].Y) : pairs[a].X.CompareTo(pairs[b].X));
            var starts = new List<int>();
            for (var i = 0; i < Order.Length; i++)
            {
                if (i == 0 || pairs[Order[i]].Y != pairs[Order[i - 1]].Y)
                {
                    starts.Add(i);
                }
            }

            starts.Add(Order.Length);
            Start = [.. starts];
        }

        /// <summary>The pair positions, by y and then x.</summary>
        public int[] Order { get; }

        /// <summary>Where each group starts in <see cref="Order"/>, and one past the last.</summary>
        public int[] Start { get; }

        public int Count => Start.Length - 1;

        public int MaxX { get; }
    }
}
