using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The checks every public prediction makes on its inputs before computing anything: a bad input is an
/// <see cref="EngagementValidationException"/> that names the argument (as the caller wrote it) and the rule, never a NaN or
/// an exception from deep inside a special function.
/// </summary>
internal static class PredictionInputs
{
    /// <summary>A continuous-time history (x, tₓ, T): x a whole number ≥ 0, 0 ≤ tₓ ≤ T finite, tₓ = 0 when x = 0.</summary>
    public static void History(double x, double tx, double age, string xName = "x", string txName = "tx", string ageName = "age")
    {
        switch (FaultOf(x, tx, age))
        {
            case HistoryFault.Count:
                throw new EngagementValidationException(xName, x, "must be a whole number of repeat transactions, at least 0");
            case HistoryFault.Age:
                throw new EngagementValidationException(ageName, age, "must be a finite age T, at least 0");
            case HistoryFault.Recency:
                throw new EngagementValidationException(txName, tx, "must be a recency in [0, T = " + age.ToString(CultureInfo.InvariantCulture) + "]");
            case HistoryFault.RecencyWithoutRepeats:
                throw new EngagementValidationException(txName, tx, "must be 0 when there are no repeat transactions (x = 0)");
        }
    }

    // The first rule of a continuous-time history that (x, tₓ, T) breaks, in the order History reports them.
    private static HistoryFault FaultOf(double x, double tx, double age)
    {
        if (!(x >= 0) || double.IsInfinity(x) || x != Math.Floor(x))
        {
            return HistoryFault.Count;
        }

        if (!(age >= 0) || double.IsInfinity(age))
        {
            return HistoryFault.Age;
        }

        if (!(tx >= 0) || tx > age)
        {
            return HistoryFault.Recency;
        }

        return x == 0 && tx != 0 ? HistoryFault.RecencyWithoutRepeats : HistoryFault.None;
    }

    /// <summary>A horizon t: at least 0 and not NaN; +∞ is allowed and gives the model's limit.</summary>
    public static void Horizon(double t, string name = "t")
    {
        if (!(t >= 0))
        {
            throw new EngagementValidationException(name, t, "must be a horizon of at least 0 (+∞ gives the limit)");
        }
    }

    /// <summary>An interval's probability: strictly between 0 and 1.</summary>
    public static void Level(double level, string name = "level")
    {
        if (!(level > 0 && level < 1))
        {
            throw new EngagementValidationException(name, level, "must be a probability strictly between 0 and 1 (0.9 for a 90 % interval)");
        }
    }

    /// <summary>A finite horizon t: at least 0, not NaN and not infinite.</summary>
    public static void FiniteHorizon(double t, string name = "t")
    {
        if (!(t >= 0) || double.IsInfinity(t))
        {
            throw new EngagementValidationException(name, t, "must be a finite horizon, at least 0");
        }
    }

    /// <summary>A continuous discount rate δ per time unit: at least 0 and finite.</summary>
    public static void DiscountRate(double rate, string name = "discountRate")
    {
        if (!(rate >= 0) || double.IsInfinity(rate))
        {
            throw new EngagementValidationException(name, rate, "must be a continuous discount rate per time unit, at least 0 and finite (ln(1 + annual rate) / time units per year)");
        }
    }

    /// <summary>A batch of histories: x, tₓ and T of the same length, the result at least as long, every history valid (named by its index).</summary>
    public static void Batch(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        if (x.Length != tx.Length || x.Length != age.Length || result.Length < x.Length)
        {
            throw new EngagementValidationException("x", x.Length, "x, t_x, T and the result must have the same length");
        }

        Histories(x, tx, age);
    }

    /// <summary>Histories of equal length, each valid (named by its index).</summary>
    public static void Histories(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
    {
        if (x.Length != tx.Length || x.Length != age.Length)
        {
            throw new EngagementValidationException("x", x.Length, "x, t_x and T must have the same length");
        }

        for (var i = 0; i < x.Length; i++)
        {
            // The names are built only for a history that fails, where History throws: formatting three of them for every
            // customer of a million-customer batch would cost more than the prediction.
            if (FaultOf(x[i], tx[i], age[i]) != HistoryFault.None)
            {
                History(x[i], tx[i], age[i], $"x[{i}]", $"tx[{i}]", $"age[{i}]");
            }
        }
    }

    /// <summary>A discrete history (x, tₓ, n): 0 ≤ x ≤ tₓ ≤ n, tₓ = 0 exactly when x = 0.</summary>
    public static void DiscreteHistory(int x, int tx, int n)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be a number of opportunities, at least 0");
        }

        if (x < 0 || x > n)
        {
            throw new EngagementValidationException("x", x, "must be a number of transactions in [0, n = " + n.ToString(CultureInfo.InvariantCulture) + "]");
        }

        if (tx < 0 || tx > n)
        {
            throw new EngagementValidationException("tx", tx, "must be the opportunity of the last transaction, in [0, n = " + n.ToString(CultureInfo.InvariantCulture) + "]");
        }

        if (x > tx)
        {
            throw new EngagementValidationException("x", x, "must not exceed t_x = " + tx.ToString(CultureInfo.InvariantCulture) + " (at most one transaction per opportunity)");
        }

        if (x == 0 && tx != 0)
        {
            throw new EngagementValidationException("tx", tx, "must be 0 when there are no transactions (x = 0)");
        }
    }
}

/// <summary>The rule of a continuous-time history that a history breaks (<see cref="PredictionInputs.History"/>).</summary>
internal enum HistoryFault
{
    /// <summary>None: the history is valid.</summary>
    None,

    /// <summary>x is not a whole number of at least 0.</summary>
    Count,

    /// <summary>T is not a finite age of at least 0.</summary>
    Age,

    /// <summary>tₓ is not in [0, T].</summary>
    Recency,

    /// <summary>tₓ is not 0 although x is.</summary>
    RecencyWithoutRepeats,
}
