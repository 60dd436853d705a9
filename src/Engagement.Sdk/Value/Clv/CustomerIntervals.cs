using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Per-customer intervals of one transaction model's predictions under one set of parameter draws, for one set of
/// customers, made by <see cref="PredictionIntervals.Prepare"/>: what depends on the histories alone is computed once and
/// shared by every interval asked of it, and each quantity's own factor once per quantity and argument (so DERT and CLV
/// intervals at one discount rate share the DERT tabulation). Thread-safe; the intervals are those of the static
/// <see cref="PredictionIntervals"/> methods, to the bit.
/// </summary>
public sealed class CustomerIntervals
{
    private readonly PredictionIntervals.Prepared _prepared;
    private readonly int[] _row;
    private readonly double[] _x;
    private readonly int _draws;

    internal CustomerIntervals(PredictionIntervals.Prepared prepared, int[] row, double[] x, int draws)
    {
        _prepared = prepared;
        _row = row;
        _x = x;
        _draws = draws;
    }

    /// <summary>Gets the number of customers.</summary>
    public int Customers => _row.Length;

    /// <summary>Gets the number of distinct (x, tₓ, T) histories among them (each computed once).</summary>
    public int DistinctHistories => _x.Length;

    /// <summary>Gets the number of parameter draws.</summary>
    public int Draws => _draws;

    /// <summary>Intervals for P(alive | x, tₓ, T).</summary>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds, one per customer.</param>
    /// <param name="upper">Receives the upper bounds, one per customer.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public void ProbabilityAlive(double level, Span<double> lower, Span<double> upper)
        => Run(PredictionIntervals.Quantity.ProbabilityAlive, 0, level, lower, upper, null);

    /// <summary>Intervals for E[Y(t) | x, tₓ, T], the expected transactions in the next t.</summary>
    /// <param name="t">The horizon, at least 0 (+∞ allowed).</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds, one per customer.</param>
    /// <param name="upper">Receives the upper bounds, one per customer.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public void ConditionalExpectedTransactions(double t, double level, Span<double> lower, Span<double> upper)
    {
        PredictionInputs.Horizon(t);
        Run(PredictionIntervals.Quantity.Expected, t, level, lower, upper, null);
    }

    /// <summary>Intervals for DERT at continuous discount rate δ per time unit.</summary>
    /// <param name="discountRate">δ per time unit, at least 0 and finite.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds, one per customer.</param>
    /// <param name="upper">Receives the upper bounds, one per customer.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public void DiscountedExpectedTransactions(double discountRate, double level, Span<double> lower, Span<double> upper)
    {
        PredictionInputs.DiscountRate(discountRate);
        Run(PredictionIntervals.Quantity.Discounted, discountRate, level, lower, upper, null);
    }

    /// <summary>
    /// Intervals for the continuous-time residual lifetime value, margin · E[M | x, m̄] · DERT(δ), with the transaction
    /// model's and the spend model's draws paired by index. Each history's DERT under the draws is computed once (and
    /// shared with <see cref="DiscountedExpectedTransactions"/> at the same rate); each customer's own mean spend scales it.
    /// </summary>
    /// <param name="spendDraws">Draws of the Gamma-Gamma parameters (p, q, γ), as many as the model's draws.</param>
    /// <param name="discountRate">δ per time unit, greater than 0 and finite.</param>
    /// <param name="margin">The margin as a fraction of spend, in [0, 1].</param>
    /// <param name="meanSpend">The mean repeat spend per customer (0 when x = 0).</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds, one per customer.</param>
    /// <param name="upper">Receives the upper bounds, one per customer.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public void LifetimeValue(ParameterDraws spendDraws, double discountRate, double margin, ReadOnlySpan<double> meanSpend, double level, Span<double> lower, Span<double> upper)
    {
        ArgumentNullException.ThrowIfNull(spendDraws);
        LifetimeValueInputs(spendDraws, _draws, discountRate, margin, meanSpend, Customers);
        LifetimeValueChecked(spendDraws, discountRate, margin, meanSpend, level, lower, upper);
    }

    /// <summary><see cref="LifetimeValue"/> for inputs <see cref="LifetimeValueInputs"/> has passed (each mean spend is read once more only to copy it).</summary>
    internal void LifetimeValueChecked(ParameterDraws spendDraws, double discountRate, double margin, ReadOnlySpan<double> meanSpend, double level, Span<double> lower, Span<double> upper)
        => Run(PredictionIntervals.Quantity.Discounted, discountRate, level, lower, upper, (new PredictionIntervals.SpendFactor(spendDraws, margin), meanSpend.ToArray()));

    /// <summary>The rules of the CLV intervals' own inputs.</summary>
    internal static void LifetimeValueInputs(ParameterDraws spendDraws, int draws, double discountRate, double margin, ReadOnlySpan<double> meanSpend, int customers)
    {
        if (!(discountRate > 0) || double.IsInfinity(discountRate))
        {
            throw new EngagementValidationException(nameof(discountRate), discountRate, "must be a continuous discount rate per time unit, greater than 0 and finite");
        }

        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException(nameof(margin), margin, "must be a fraction between 0 and 1");
        }

        if (!spendDraws.Names.SequenceEqual(["p", "q", "gamma"]) || spendDraws.Count != draws)
        {
            throw new EngagementValidationException(nameof(spendDraws), string.Join(", ", spendDraws.Names), "must be " + draws.ToString(CultureInfo.InvariantCulture) + " draws of the Gamma-Gamma parameters (p, q, gamma)");
        }

        if (meanSpend.Length != customers)
        {
            throw new EngagementValidationException(nameof(meanSpend), meanSpend.Length, "must hold one mean spend per customer");
        }

        for (var i = 0; i < meanSpend.Length; i++)
        {
            if (!(meanSpend[i] >= 0) || double.IsInfinity(meanSpend[i]))
            {
                throw new EngagementValidationException($"meanSpend[{i}]", meanSpend[i], "must be a finite mean spend, at least 0");
            }
        }
    }

    private void Run(PredictionIntervals.Quantity quantity, double argument, double level, Span<double> lower, Span<double> upper, (PredictionIntervals.SpendFactor, double[])? perCustomer)
    {
        PredictionInputs.Level(level);
        if (lower.Length < Customers)
        {
            throw new EngagementValidationException(nameof(lower), lower.Length, "must hold one value per customer");
        }

        if (upper.Length < Customers)
        {
            throw new EngagementValidationException(nameof(upper), upper.Length, "must hold one value per customer");
        }

        PredictionIntervals.Run(_prepared, _row, _x, _draws, quantity, argument, level, lower, upper, perCustomer);
    }
}
