using System.Collections.Immutable;
using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The shifted-beta-geometric (sBG) model of contractual retention (Fader and Hardie 2007, "How to project customer
/// retention"): at the end of each period a subscriber cancels with probability θ, constant for the subscriber, and θ varies
/// across subscribers as Beta(α, β). Although each subscriber's churn probability is constant, the cohort's retention rate
/// rises over time, because the subscribers most likely to churn leave first.
/// <list type="bullet">
/// <item>P(T = t) = B(α + 1, β + t − 1)/B(α, β): the subscriber's lifetime ends in period t (t = 1, 2, …).</item>
/// <item>S(t) = B(α, β + t)/B(α, β): still a subscriber after t periods.</item>
/// <item>r(t) = S(t)/S(t − 1) = (β + t − 1)/(α + β + t − 1): the retention rate of period t.</item>
/// </list>
/// </summary>
public sealed class ShiftedBetaGeometricModel
{
    private static readonly string[] ParameterNames = ["alpha", "beta"];

    private ShiftedBetaGeometricModel(double alpha, double beta, ClvFit? fit)
    {
        Alpha = alpha;
        Beta = beta;
        FitResult = fit;
    }

    /// <summary>α of the churn probability θ ~ Beta(α, β).</summary>
    public double Alpha { get; }

    /// <summary>β of the churn probability θ ~ Beta(α, β).</summary>
    public double Beta { get; }

    /// <summary>The fit, when fitted.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>The mean churn probability α/(α + β) of a new subscriber.</summary>
    public double MeanChurnProbability => Alpha / (Alpha + Beta);

    /// <summary>
    /// E[T]: a new subscriber's expected number of periods, E[1/θ] = (α + β − 1)/(α − 1) when α &gt; 1, +∞ otherwise (the
    /// subscribers least likely to churn stay so long that the mean diverges).
    /// </summary>
    public double ExpectedLifetime => Alpha > 1 ? (Alpha + Beta - 1) / (Alpha - 1) : double.PositiveInfinity;

    /// <summary>A model with given parameters.</summary>
    /// <param name="alpha">α &gt; 0.</param>
    /// <param name="beta">β &gt; 0.</param>
    /// <returns>The model.</returns>
    /// <exception cref="EngagementValidationException">A parameter is not finite and positive.</exception>
    public static ShiftedBetaGeometricModel FromParameters(double alpha, double beta)
    {
        ModelParameters.RequirePositive(("alpha", alpha), ("beta", beta));
        return new ShiftedBetaGeometricModel(alpha, beta, null);
    }

    /// <summary>
    /// Fits the model to one cohort's survivor counts: <paramref name="survivors"/>[0] subscribers at the start, and
    /// <paramref name="survivors"/>[t] of them still subscribed after t periods (the form of Fader and Hardie's tables). The
    /// likelihood counts survivors[t − 1] − survivors[t] lifetimes ending in period t and survivors[n] still running.
    /// </summary>
    /// <param name="survivors">Non-increasing, non-negative counts, at least two (the start and one period), the first positive.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model.</returns>
    /// <exception cref="EngagementValidationException">A count breaks its rule; the exception names it.</exception>
    /// <exception cref="ClvModelException">Nobody churned, or everybody did in the first period: the parameters are not identified.</exception>
    public static ShiftedBetaGeometricModel Fit(IReadOnlyList<double> survivors, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(survivors);
        if (survivors.Count < 2)
        {
            throw new EngagementValidationException("survivors", survivors.Count, "needs the cohort's size and at least one period's survivors");
        }

        if (!(survivors[0] > 0) || double.IsInfinity(survivors[0]))
        {
            throw new EngagementValidationException("survivors[0]", survivors[0], "must be the cohort's size, a positive finite number");
        }

        var rows = new List<(int Period, bool Churned, double Weight)>();
        for (var t = 1; t < survivors.Count; t++)
        {
            if (!(survivors[t] >= 0) || survivors[t] > survivors[t - 1])
            {
                throw new EngagementValidationException($"survivors[{t}]", survivors[t], $"must be a count between 0 and the previous period's survivors ({survivors[t - 1]})");
            }

            if (survivors[t - 1] > survivors[t])
            {
                rows.Add((t, true, survivors[t - 1] - survivors[t]));
            }
        }

        if (survivors[^1] > 0)
        {
            rows.Add((survivors.Count - 1, false, survivors[^1]));
        }

        return FitRows(rows, options);
    }

    /// <summary>
    /// Fits the model to individual subscribers, possibly from cohorts of different ages: each row is a subscriber (or
    /// <c>Weight</c> identical ones) whose lifetime ended in period <c>Period</c> (<c>Churned</c>) or who is still
    /// subscribed after <c>Period</c> periods (not churned; right-censored).
    /// </summary>
    /// <param name="subscribers">(period, churned, weight) rows.</param>
    /// <param name="options">The fitting options; <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model.</returns>
    /// <exception cref="EngagementValidationException">A row breaks its rule; the exception names it.</exception>
    /// <exception cref="ClvModelException">The parameters are not identified by the rows.</exception>
    public static ShiftedBetaGeometricModel Fit(IReadOnlyList<(int Period, bool Churned, double Weight)> subscribers, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(subscribers);
        for (var i = 0; i < subscribers.Count; i++)
        {
            var (period, churned, weight) = subscribers[i];
            if (period < (churned ? 1 : 0))
            {
                throw new EngagementValidationException($"subscribers[{i}].Period", period, churned ? "must be at least 1 for a lifetime that ended (the period it ended in)" : "must be at least 0 (the periods survived so far)");
            }

            if (!(weight > 0) || double.IsInfinity(weight))
            {
                throw new EngagementValidationException($"subscribers[{i}].Weight", weight, "must be a positive number of subscribers");
            }
        }

        return FitRows(subscribers, options);
    }

    private static ShiftedBetaGeometricModel FitRows(IReadOnlyList<(int Period, bool Churned, double Weight)> rows, ClvFitOptions? options)
    {
        var total = rows.Sum(r => r.Weight);
        if (total < 2)
        {
            throw new ClvModelException("sBG needs at least two subscribers.");
        }

        if (!rows.Any(r => r.Churned))
        {
            throw new ClvModelException("sBG cannot be fitted when nobody churned: the churn probability is not identified (the likelihood grows without bound as it goes to zero).");
        }

        if (rows.All(r => r.Churned && r.Period == 1))
        {
            throw new ClvModelException("sBG cannot be fitted when everybody churned in the first period: the heterogeneity is not identified.");
        }

        var fit = MaximumLikelihood.Fit("sBG", ParameterNames, (p, g) => LogLikelihood(p, rows, g), [1, 1], total, options);
        return new ShiftedBetaGeometricModel(fit.Values[0], fit.Values[1], fit);
    }

    /// <summary>
    /// The total log-likelihood Σ w [1(churned) ln P(T = t) + 1(not churned) ln S(t)] at (α, β), and its gradient.
    /// </summary>
    /// <param name="parameters">α, β.</param>
    /// <param name="subscribers">(period, churned, weight) rows.</param>
    /// <param name="gradient">Receives ∂LL/∂(α, β); may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, IReadOnlyList<(int Period, bool Churned, double Weight)> subscribers, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(subscribers);
        double a = parameters[0], b = parameters[1];
        var lbAb = LogBeta(a, b);
        double psiA = Digamma(a), psiB = Digamma(b), psiAb = Digamma(a + b);
        double total = 0, ga = 0, gb = 0;
        foreach (var (t, churned, w) in subscribers)
        {
            if (churned)
            {
                // ln B(α + 1, β + t − 1) − ln B(α, β).
                total += w * (LogBeta(a + 1, b + t - 1) - lbAb);
                var psiSum = Digamma(a + b + t);
                ga += w * (Digamma(a + 1) - psiSum - psiA + psiAb);
                gb += w * (Digamma(b + t - 1) - psiSum - psiB + psiAb);
            }
            else
            {
                // ln B(α, β + t) − ln B(α, β).
                total += w * (LogBeta(a, b + t) - lbAb);
                var psiSum = Digamma(a + b + t);
                ga += w * (psiA - psiSum - psiA + psiAb);
                gb += w * (Digamma(b + t) - psiSum - psiB + psiAb);
            }
        }

        if (gradient.Length >= 2)
        {
            gradient[0] = ga;
            gradient[1] = gb;
        }

        return total;
    }

    /// <summary>P(T = t) = B(α + 1, β + t − 1)/B(α, β): the probability that a new subscriber's lifetime ends in period t.</summary>
    /// <param name="t">The period, at least 1.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="t"/> is below 1.</exception>
    public double ChurnProbability(int t)
    {
        if (t < 1)
        {
            throw new EngagementValidationException("t", t, "must be a period, at least 1");
        }

        return Math.Exp(LogBeta(Alpha + 1, Beta + t - 1) - LogBeta(Alpha, Beta));
    }

    /// <summary>S(t) = B(α, β + t)/B(α, β): the probability that a new subscriber is still subscribed after t periods.</summary>
    /// <param name="t">The number of periods, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="t"/> is negative.</exception>
    public double Survival(int t)
    {
        if (t < 0)
        {
            throw new EngagementValidationException("t", t, "must be a number of periods, at least 0");
        }

        return Math.Exp(LogBeta(Alpha, Beta + t) - LogBeta(Alpha, Beta));
    }

    /// <summary>r(t) = (β + t − 1)/(α + β + t − 1): the share of period t − 1's subscribers who renew in period t.</summary>
    /// <param name="t">The period, at least 1.</param>
    /// <returns>The retention rate.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="t"/> is below 1.</exception>
    public double Retention(int t)
    {
        if (t < 1)
        {
            throw new EngagementValidationException("t", t, "must be a period, at least 1");
        }

        return (Beta + t - 1) / (Alpha + Beta + t - 1);
    }

    /// <summary>S(0), S(1), …, S(<paramref name="periods"/>): the survival curve (multiply by the cohort's size for the expected survivors).</summary>
    /// <param name="periods">How many periods, at least 0.</param>
    /// <returns>The curve, periods + 1 values.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="periods"/> is negative.</exception>
    public ImmutableArray<double> SurvivalCurve(int periods)
    {
        if (periods < 0)
        {
            throw new EngagementValidationException("periods", periods, "must be a number of periods, at least 0");
        }

        var curve = new double[periods + 1];
        curve[0] = 1;
        for (var t = 1; t <= periods; t++)
        {
            curve[t] = curve[t - 1] * Retention(t);
        }

        return [.. curve];
    }

    /// <summary>r(1), …, r(<paramref name="periods"/>): the retention curve, rising towards 1.</summary>
    /// <param name="periods">How many periods, at least 0.</param>
    /// <returns>The curve.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="periods"/> is negative.</exception>
    public ImmutableArray<double> RetentionCurve(int periods)
    {
        if (periods < 0)
        {
            throw new EngagementValidationException("periods", periods, "must be a number of periods, at least 0");
        }

        return [.. Enumerable.Range(1, periods).Select(Retention)];
    }

    /// <summary>
    /// DEL(d): a new subscriber's discounted expected lifetime in periods, Σ_{t≥0} S(t)/(1 + d)ᵗ (payment at the start of
    /// each period) = ₂F₁(1, β; α + β; 1/(1 + d)) (Fader and Hardie 2010). Times the margin per period it is the
    /// expected lifetime value of a new subscriber.
    /// </summary>
    /// <param name="discountRate">d per period, greater than 0 and finite.</param>
    /// <returns>The discounted expected lifetime.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="discountRate"/> breaks its rule.</exception>
    public double DiscountedExpectedLifetime(double discountRate)
    {
        RequireRate(discountRate);
        return Math.Exp(LogSumOfSurvival(Beta, discountRate));
    }

    /// <summary>
    /// DERL(d | n − 1 renewals): the discounted expected residual lifetime of a subscriber who has renewed n − 1 times and is
    /// about to make the n-th renewal decision, Σ_{j≥0} S(n + j)/S(n − 1) (1 + d)^(−j) =
    /// B(α, β + n)/B(α, β + n − 1) · ₂F₁(1, β + n; α + β + n; 1/(1 + d)) (Fader and Hardie 2010, eq. 6): their updated
    /// churn probability is Beta(α, β + n − 1).
    /// </summary>
    /// <param name="discountRate">d per period, greater than 0 and finite.</param>
    /// <param name="renewals">n − 1: the renewals made so far, at least 0.</param>
    /// <returns>The discounted expected residual lifetime.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double DiscountedExpectedResidualLifetime(double discountRate, int renewals)
    {
        RequireRate(discountRate);
        if (renewals < 0)
        {
            throw new EngagementValidationException("renewals", renewals, "must be the number of renewals so far, at least 0");
        }

        var n = renewals + 1.0;
        return Math.Exp(Math.Log((Beta + n - 1) / (Alpha + Beta + n - 1)) + LogSumOfSurvival(Beta + n, discountRate));
    }

    /// <summary>ln ₂F₁(1, b; α + b; ρ), ρ = 1/(1 + d): by its series, or, when that would be long (small d), as E[1/(1 − ρu)] over u ~ Beta(b, α).</summary>
    private double LogSumOfSurvival(double b, double discountRate)
    {
        var c = Alpha + b;
        var rho = 1 / (1 + discountRate);
        var oneMinusRho = discountRate / (1 + discountRate);
        return SeriesTerms(1, b, c, rho) <= 200_000
            ? LogHypergeometric2F1Value(1, b, c, rho)
            : Math.Log(ClvQuadrature.BetaExpectation(b, Alpha, (u, v) => -Math.Log(v + (u * oneMinusRho))));
    }

    private static void RequireRate(double rate)
    {
        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new EngagementValidationException("discountRate", rate, "must be a discount rate per period, greater than 0 and finite");
        }
    }

    /// <summary>Simulates a cohort: each subscriber draws θ ~ Beta(α, β) and churns at the end of each period with probability θ.</summary>
    /// <param name="subscribers">The cohort's size, at least 1.</param>
    /// <param name="periods">How many periods to follow it, at least 1.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The survivors after 0, 1, …, periods periods.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule.</exception>
    public ImmutableArray<double> Simulate(int subscribers, int periods, int seed)
    {
        if (subscribers < 1)
        {
            throw new EngagementValidationException("subscribers", subscribers, "must be at least 1");
        }

        if (periods < 1)
        {
            throw new EngagementValidationException("periods", periods, "must be at least 1");
        }

        var random = new Random(seed);
        var survivors = new double[periods + 1];
        for (var i = 0; i < subscribers; i++)
        {
            var theta = RandomVariates.Beta(random, Alpha, Beta);
            survivors[0]++;
            for (var t = 1; t <= periods; t++)
            {
                if (random.NextDouble() < theta)
                {
                    break;
                }

                survivors[t]++;
            }
        }

        return [.. survivors];
    }
}
