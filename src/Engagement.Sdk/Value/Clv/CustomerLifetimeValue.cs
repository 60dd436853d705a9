namespace Engagement.Sdk.Value.Clv;

/// <summary>A fitted model of repeat transactions in continuous time (BG/NBD, MBG/NBD, Pareto/NBD).</summary>
public interface ITransactionModel
{
    /// <summary>The model's short name (<c>bgnbd</c>, <c>mbgnbd</c>, <c>pnbd</c>).</summary>
    string Name { get; }

    /// <summary>P(alive | x, tₓ, T).</summary>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="t">Age T.</param>
    /// <returns>The probability.</returns>
    double ProbabilityAlive(double x, double tx, double t);

    /// <summary>E[X(t)] for a new customer.</summary>
    /// <param name="t">The horizon.</param>
    /// <returns>The expectation.</returns>
    double ExpectedTransactions(double t);

    /// <summary>E[Y(t) | x, tₓ, T].</summary>
    /// <param name="t">The horizon.</param>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="age">Age T.</param>
    /// <returns>The expectation.</returns>
    double ConditionalExpectedTransactions(double t, double x, double tx, double age);

    /// <summary>
    /// E[Y(t) | x, tₓ, T] for many customers at once. Terms shared by customers with the same history components are computed
    /// once, so this is much faster than one call per customer; memory grows with the distinct histories, not the customers.
    /// </summary>
    /// <param name="t">The horizon.</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="result">Receives one expectation per customer.</param>
    void ConditionalExpectedTransactions(double t, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result);
}

/// <summary>
/// Customer lifetime value as discounted expected future margin: Σₖ m̂ · margin · (E[Y(k·f)] − E[Y((k−1)·f)]) / (1 + d)ᵏ over
/// K periods of f time units, where m̂ is the Gamma-Gamma expected average spend and d the discount rate per period.
/// </summary>
public static class CustomerLifetimeValue
{
    /// <summary>Computes one customer's CLV.</summary>
    /// <param name="transactions">The fitted transaction model.</param>
    /// <param name="spend">The fitted spend model.</param>
    /// <param name="customer">The customer's calibration summary.</param>
    /// <param name="periods">How many periods ahead (K, at least 1).</param>
    /// <param name="unitsPerPeriod">Time units per period (f; 4.345 weeks or 30 days for months).</param>
    /// <param name="discountRate">The discount rate per period (d, at least 0).</param>
    /// <param name="margin">The margin as a fraction of spend, in [0, 1].</param>
    /// <returns>The CLV in the spend's currency units.</returns>
    public static double Compute(ITransactionModel transactions, GammaGammaModel spend, CustomerRfm customer, int periods, double unitsPerPeriod, double discountRate, double margin)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(spend);
        if (periods < 1)
        {
            throw new EngagementValidationException("periods", periods, "must be at least 1");
        }

        if (!(unitsPerPeriod > 0))
        {
            throw new EngagementValidationException("unitsPerPeriod", unitsPerPeriod, "must be positive");
        }

        if (!(discountRate >= 0) || !double.IsFinite(discountRate))
        {
            throw new EngagementValidationException("discountRate", discountRate, "must be a finite rate, at least 0");
        }

        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException("margin", margin, "must be a fraction between 0 and 1");
        }

        var averageSpend = spend.ExpectedAverageSpend(customer.Frequency, (double)customer.MeanRepeatSpend);
        var value = 0.0;
        var previous = 0.0;
        for (var k = 1; k <= periods; k++)
        {
            var cumulative = transactions.ConditionalExpectedTransactions(k * unitsPerPeriod, customer.Frequency, customer.Recency, customer.Age);
            value += averageSpend * margin * (cumulative - previous) / Math.Pow(1 + discountRate, k);
            previous = cumulative;
        }

        return value;
    }
}
