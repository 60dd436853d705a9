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

    /// <summary>P(alive | x, tₓ, T) for many customers at once (terms shared by customers with the same x and T computed once).</summary>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="result">Receives one probability per customer.</param>
    void ProbabilityAlive(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result);

    /// <summary>P(alive at T + t | x, tₓ, T): the probability that the customer is still active t time units from now.</summary>
    /// <param name="t">How far ahead, at least 0 and finite.</param>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="age">Age T.</param>
    /// <returns>The probability.</returns>
    double ProbabilityAliveAfter(double t, double x, double tx, double age);

    /// <summary>E[X(t)] for a new customer.</summary>
    /// <param name="t">The horizon.</param>
    /// <returns>The expectation.</returns>
    double ExpectedTransactions(double t);

    /// <summary>P(X(t) = n): the probability that a new customer makes exactly n repeat transactions in (0, t].</summary>
    /// <param name="n">The count, at least 0.</param>
    /// <param name="t">The horizon.</param>
    /// <returns>The probability.</returns>
    double ProbabilityOfTransactions(int n, double t);

    /// <summary>P(Y(t) = n | x, tₓ, T): the probability that a customer with this history makes exactly n transactions in the next t.</summary>
    /// <param name="n">The count, at least 0.</param>
    /// <param name="t">The horizon.</param>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="age">Age T.</param>
    /// <returns>The probability.</returns>
    double ConditionalProbabilityOfTransactions(int n, double t, double x, double tx, double age);

    /// <summary>
    /// DERT: the discounted expected residual transactions, the expected sum of e^(−δτ) over the customer's future
    /// transactions at times τ from now, for a continuous discount rate δ per time unit. Times the expected spend per
    /// transaction it is the customer's residual lifetime value.
    /// </summary>
    /// <param name="discountRate">δ per time unit, at least 0 (0 gives E[Y(∞) | history], possibly +∞).</param>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="age">Age T.</param>
    /// <returns>The discounted expected number of future transactions.</returns>
    double DiscountedExpectedTransactions(double discountRate, double x, double tx, double age);

    /// <summary>DERT for many customers at once (terms shared by customers with the same x and T computed once).</summary>
    /// <param name="discountRate">δ per time unit, at least 0.</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="result">Receives one value per customer.</param>
    void DiscountedExpectedTransactions(double discountRate, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result);

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

/// <summary>An estimate with an interval that holds the quantity with the stated probability.</summary>
/// <param name="Estimate">The point estimate.</param>
/// <param name="Lower">The lower bound.</param>
/// <param name="Upper">The upper bound.</param>
/// <param name="Level">The probability the interval holds (0.9 for 90 %).</param>
public readonly record struct PredictionInterval(double Estimate, double Lower, double Upper, double Level);

/// <summary>
/// Customer lifetime value as discounted expected future margin: in discrete periods (<see cref="Compute"/>, the scheme of
/// lifetimes and PyMC-Marketing) or in continuous time (<see cref="ComputeContinuous"/>, the scheme of Fader, Hardie and
/// Lee 2005 and CLVTools: expected spend × DERT).
/// </summary>
public static class CustomerLifetimeValue
{
    /// <summary>
    /// One customer's residual lifetime value in continuous time: margin · E[M | x, m̄] · DERT(δ | x, tₓ, T), with the
    /// Gamma-Gamma expected spend per transaction and the discounted expected residual transactions of the transaction
    /// model over an infinite horizon. δ is a continuous rate per time unit of the data: for an annual rate i and weekly
    /// data, δ = ln(1 + i)/52.
    /// </summary>
    /// <param name="transactions">The fitted transaction model.</param>
    /// <param name="spend">The fitted spend model.</param>
    /// <param name="customer">The customer's calibration summary.</param>
    /// <param name="discountRate">δ per time unit, greater than 0 and finite.</param>
    /// <param name="margin">The margin as a fraction of spend, in [0, 1].</param>
    /// <returns>The residual lifetime value in the spend's currency units.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it (and the customer).</exception>
    public static double ComputeContinuous(ITransactionModel transactions, GammaGammaModel spend, CustomerRfm customer, double discountRate, double margin)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(spend);
        if (!(discountRate > 0) || double.IsInfinity(discountRate))
        {
            throw new EngagementValidationException("discountRate", discountRate, "must be a continuous discount rate per time unit, greater than 0 and finite");
        }

        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException("margin", margin, "must be a fraction between 0 and 1");
        }

        try
        {
            var averageSpend = spend.ExpectedAverageSpend(customer.Frequency, (double)customer.MeanRepeatSpend);
            return margin * averageSpend * transactions.DiscountedExpectedTransactions(discountRate, customer.Frequency, customer.Recency, customer.Age);
        }
        catch (EngagementValidationException e)
        {
            throw new EngagementValidationException($"customer '{customer.CustomerId}'.{e.Field}", e.Value, e.Rule);
        }
    }

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
