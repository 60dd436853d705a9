using Engagement.Sdk.Profiles;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The value of a customer to the shop, in the shop's currency units, for decisions: actions add
/// <see cref="ActionDefinition.CustomerValueShare"/> of it to their value, so that an offer to a customer worth 5,000 weighs
/// more than the same offer to a new visitor. Called once per decision that needs it; must be fast and pure.
/// </summary>
public interface ICustomerValueEstimator
{
    /// <summary>The customer's value at <paramref name="at"/>, at least 0.</summary>
    /// <param name="profile">The customer.</param>
    /// <param name="at">The instant.</param>
    /// <returns>The value.</returns>
    double Estimate(CustomerProfile profile, DateTimeOffset at);
}

/// <summary>The historical value: the margin on what the customer paid, net of refunds.</summary>
public sealed class HistoricalMarginValue : ICustomerValueEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="margin">The margin as a fraction of revenue, in [0, 1].</param>
    /// <exception cref="EngagementValidationException"><paramref name="margin"/> is out of range.</exception>
    public HistoricalMarginValue(double margin)
    {
        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException(nameof(margin), margin, "must be a fraction between 0 and 1");
        }

        Margin = margin;
    }

    /// <summary>The margin.</summary>
    public double Margin { get; }

    /// <inheritdoc />
    public double Estimate(CustomerProfile profile, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return profile.Behaviour.NetRevenue is { } net && net.Amount > 0 ? (double)net.Amount * Margin : 0;
    }
}

/// <summary>
/// The expected future value from fitted models of the customer base (the CLV models of <c>Value/Clv</c>): discounted expected
/// margin over a horizon, Σₖ m̂ · margin · (E[Y(k·f)] − E[Y((k−1)·f)]) / (1 + d)ᵏ, which weighs P(alive) and the expected
/// transactions by the customer's own history (orders, first and last purchase, mean spend). A customer who never bought is
/// worth 0 here (the action's own value still counts).
/// </summary>
public sealed class LifetimeValueEstimator : ICustomerValueEstimator
{
    private readonly ITransactionModel _transactions;
    private readonly GammaGammaModel _spend;
    private readonly int _periods;
    private readonly double _unitsPerPeriod;
    private readonly double _discountRate;
    private readonly double _margin;
    private readonly TimeUnit _unit;

    /// <summary>Creates the estimator.</summary>
    /// <param name="transactions">The fitted transaction model (BG/NBD, MBG/NBD or Pareto/NBD) in <paramref name="unit"/>s.</param>
    /// <param name="spend">The fitted Gamma-Gamma spend model.</param>
    /// <param name="unit">The time unit the models were fitted in.</param>
    /// <param name="periods">How many periods ahead (at least 1).</param>
    /// <param name="unitsPerPeriod">Time units per period (for example 4.345 weeks for a month).</param>
    /// <param name="discountRate">The discount rate per period, at least 0.</param>
    /// <param name="margin">The margin as a fraction of spend, in [0, 1].</param>
    /// <exception cref="EngagementValidationException">An argument is out of range.</exception>
    public LifetimeValueEstimator(ITransactionModel transactions, GammaGammaModel spend, TimeUnit unit, int periods, double unitsPerPeriod, double discountRate, double margin)
    {
        _transactions = transactions ?? throw new ArgumentNullException(nameof(transactions));
        _spend = spend ?? throw new ArgumentNullException(nameof(spend));
        if (!Enum.IsDefined(unit))
        {
            throw new EngagementValidationException(nameof(unit), unit, "must be Days or Weeks");
        }

        if (periods < 1)
        {
            throw new EngagementValidationException(nameof(periods), periods, "must be at least 1");
        }

        if (!(unitsPerPeriod > 0) || !double.IsFinite(unitsPerPeriod))
        {
            throw new EngagementValidationException(nameof(unitsPerPeriod), unitsPerPeriod, "must be positive and finite");
        }

        if (!(discountRate >= 0) || !double.IsFinite(discountRate))
        {
            throw new EngagementValidationException(nameof(discountRate), discountRate, "must be a finite rate, at least 0");
        }

        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException(nameof(margin), margin, "must be a fraction between 0 and 1");
        }

        _unit = unit;
        _periods = periods;
        _unitsPerPeriod = unitsPerPeriod;
        _discountRate = discountRate;
        _margin = margin;
    }

    /// <inheritdoc />
    public double Estimate(CustomerProfile profile, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var b = profile.Behaviour;
        if (b.Orders < 1 || b.FirstPurchase is not { } first || b.LastPurchase is not { } last || b.Revenue is not { } revenue)
        {
            return 0;
        }

        var perUnit = _unit == TimeUnit.Weeks ? 7.0 : 1.0;
        var age = Math.Max((at - first).TotalDays / perUnit, 1e-6);
        var recency = Math.Clamp((last - first).TotalDays / perUnit, 0, age);
        var repeat = b.Orders - 1;
        var meanSpend = repeat == 0 ? 0m : Math.Max(0m, revenue.Amount / b.Orders);
        var rfm = new CustomerRfm(profile.Id.Value, repeat, repeat == 0 ? 0 : recency, age, meanSpend, 0, DateOnly.FromDateTime(first.UtcDateTime));
        var value = CustomerLifetimeValue.Compute(_transactions, _spend, rfm, _periods, _unitsPerPeriod, _discountRate, _margin);
        return double.IsFinite(value) && value > 0 ? value : 0;
    }
}
