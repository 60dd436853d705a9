using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The BG/BB model for discrete transaction opportunities (Fader, Hardie and Shang 2010): at each opportunity an alive
/// customer transacts with probability p ~ Beta(α, β); before each opportunity they drop out with probability
/// θ ~ Beta(γ, δ). Data are (x, tₓ, n) patterns — transactions, the opportunity of the last one, opportunities — with weights.
/// </summary>
public sealed class BgBbModel
{
    private static readonly string[] ParameterNames = ["alpha", "beta", "gamma", "delta"];

    private BgBbModel(double alpha, double beta, double gamma, double delta, ClvFit? fit)
    {
        Alpha = alpha;
        Beta = beta;
        Gamma = gamma;
        Delta = delta;
        FitResult = fit;
    }

    /// <summary>α of the transaction probability.</summary>
    public double Alpha { get; }

    /// <summary>β of the transaction probability.</summary>
    public double Beta { get; }

    /// <summary>γ of the drop-out probability.</summary>
    public double Gamma { get; }

    /// <summary>δ of the drop-out probability.</summary>
    public double Delta { get; }

    /// <summary>The fit, when fitted.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>A model with given parameters (all positive).</summary>
    /// <param name="alpha">α.</param>
    /// <param name="beta">β.</param>
    /// <param name="gamma">γ.</param>
    /// <param name="delta">δ.</param>
    /// <returns>The model.</returns>
    public static BgBbModel FromParameters(double alpha, double beta, double gamma, double delta)
    {
        ModelParameters.RequirePositive(("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta));

        return new BgBbModel(alpha, beta, gamma, delta, null);
    }

    /// <summary>Fits the model.</summary>
    /// <param name="patterns">(x, tₓ, n, weight) rows.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model; <see cref="ClvFit.Diagnostics"/> says whether the data determine it.</returns>
    /// <exception cref="ClvModelException">The data cannot identify the model.</exception>
    /// <exception cref="EngagementValidationException">A row or an option breaks its rule; the exception names it.</exception>
    public static BgBbModel Fit(IReadOnlyList<(int X, int Tx, int N, double Weight)> patterns, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        for (var i = 0; i < patterns.Count; i++)
        {
            var (x, tx, n, w) = patterns[i];
            if (n < 1 || x < 0 || x > n || tx < 0 || tx > n || (x == 0) != (tx == 0) || (x > 0 && tx < x))
            {
                throw new EngagementValidationException($"patterns[{i}]", $"x={x}, t_x={tx}, n={n}", "needs 0 ≤ x ≤ t_x ≤ n, n ≥ 1, and t_x = 0 exactly when x = 0");
            }

            if (!(w > 0))
            {
                throw new EngagementValidationException($"patterns[{i}].weight", w, "must be positive");
            }
        }

        var total = patterns.Sum(p => p.Weight);
        if (total < 2)
        {
            throw new ClvModelException("BG/BB needs at least two customers.");
        }

        if (patterns.All(p => p.X == 0))
        {
            throw new ClvModelException("BG/BB cannot be fitted when nobody ever transacted.");
        }

        var fit = MaximumLikelihood.Fit("BG/BB", ParameterNames, (par, g) => LogLikelihood(par, patterns, g), [1, 1, 1, 1], total, options);
        return new BgBbModel(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3], fit);
    }

    /// <summary>The total log-likelihood and its gradient in (α, β, γ, δ).</summary>
    /// <param name="parameters">α, β, γ, δ.</param>
    /// <param name="patterns">(x, tₓ, n, weight) rows.</param>
    /// <param name="gradient">Receives the gradient; may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, IReadOnlyList<(int X, int Tx, int N, double Weight)> patterns, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        double al = parameters[0], be = parameters[1], ga = parameters[2], de = parameters[3];
        var want = gradient.Length >= 4;
        var lbAB = LogBeta(al, be);
        var lbGD = LogBeta(ga, de);
        double pA = Digamma(al), pB = Digamma(be), pAB = Digamma(al + be), pG = Digamma(ga), pD = Digamma(de), pGD = Digamma(ga + de);
        double total = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0;
        var terms = new List<(double L, double DA, double DB, double DG, double DD)>();
        foreach (var (x, tx, n, w) in patterns)
        {
            terms.Clear();
            var l0 = LogBeta(al + x, be + n - x) - lbAB + LogBeta(ga, de + n) - lbGD;
            terms.Add((l0,
                Digamma(al + x) - Digamma(al + be + n) - (pA - pAB),
                Digamma(be + n - x) - Digamma(al + be + n) - (pB - pAB),
                pG - Digamma(ga + de + n) - (pG - pGD),
                Digamma(de + n) - Digamma(ga + de + n) - (pD - pGD)));
            for (var i = 0; i <= n - tx - 1; i++)
            {
                var li = LogBeta(al + x, be + tx - x + i) - lbAB + LogBeta(ga + 1, de + tx + i) - lbGD;
                terms.Add((li,
                    Digamma(al + x) - Digamma(al + be + tx + i) - (pA - pAB),
                    Digamma(be + tx - x + i) - Digamma(al + be + tx + i) - (pB - pAB),
                    Digamma(ga + 1) - Digamma(ga + de + tx + i + 1) - (pG - pGD),
                    Digamma(de + tx + i) - Digamma(ga + de + tx + i + 1) - (pD - pGD)));
            }

            var max = terms.Max(t => t.L);
            var sum = terms.Sum(t => Math.Exp(t.L - max));
            var logL = max + Math.Log(sum);
            total += w * logL;
            if (want)
            {
                foreach (var t in terms)
                {
                    var share = Math.Exp(t.L - logL);
                    g0 += w * share * t.DA;
                    g1 += w * share * t.DB;
                    g2 += w * share * t.DG;
                    g3 += w * share * t.DD;
                }
            }
        }

        if (want)
        {
            gradient[0] = g0;
            gradient[1] = g1;
            gradient[2] = g2;
            gradient[3] = g3;
        }

        return total;
    }

    /// <summary>Simulates customers over <paramref name="opportunities"/> opportunities and returns their (x, tₓ, n) patterns with counts.</summary>
    /// <param name="customers">How many customers.</param>
    /// <param name="opportunities">Opportunities per customer (n).</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The patterns with their counts.</returns>
    public IReadOnlyList<(int X, int Tx, int N, double Weight)> Simulate(int customers, int opportunities, int seed)
    {
        if (customers < 1 || opportunities < 1)
        {
            throw new EngagementValidationException("customers", customers, "needs at least one customer and one opportunity");
        }

        var random = new Random(seed);
        var counts = new Dictionary<(int, int), int>();
        for (var c = 0; c < customers; c++)
        {
            var p = RandomVariates.Beta(random, Alpha, Beta);
            var theta = RandomVariates.Beta(random, Gamma, Delta);
            int x = 0, last = 0;
            for (var t = 1; t <= opportunities; t++)
            {
                if (random.NextDouble() < theta)
                {
                    break;
                }

                if (random.NextDouble() < p)
                {
                    x++;
                    last = t;
                }
            }

            counts[(x, last)] = counts.GetValueOrDefault((x, last)) + 1;
        }

        return [.. counts.OrderBy(k => k.Key.Item1).ThenBy(k => k.Key.Item2).Select(k => (k.Key.Item1, k.Key.Item2, opportunities, (double)k.Value))];
    }

    /// <summary>
    /// E[X(n)]: expected transactions in the first n opportunities, α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)Γ(1+δ+n)/(Γ(γ+δ+n)Γ(1+δ))].
    /// At γ = 1 that is 0/0; the limit α/(α+β) · δ · Σ_{j&lt;n} 1/(1+δ+j) is used, and near it the bracket is computed
    /// without cancellation, so the answer is finite and continuous in γ.
    /// </summary>
    /// <param name="n">Opportunities, at least 0.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="n"/> is negative.</exception>
    public double ExpectedTransactions(int n)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be a number of opportunities, at least 0");
        }

        return Alpha / (Alpha + Beta) * Delta * Growth(0, n);
    }

    /// <summary>
    /// [1 − Π_{j=from}^{from+count−1} (1+δ+j)/(γ+δ+j)] / (γ − 1): the share of the remaining drop-out "mass" used up between
    /// opportunities <paramref name="from"/> and <paramref name="from"/> + <paramref name="count"/>, finite at γ = 1 (the
    /// limit Σ 1/(1+δ+j)); <paramref name="count"/> = <see cref="int.MaxValue"/> stands for an infinite horizon.
    /// </summary>
    private double Growth(int from, long count)
    {
        if (count == 0)
        {
            return 0;
        }

        if (count == int.MaxValue)
        {
            // The product tends to 0 when γ > 1 and to 1 (slowly, the sum diverging) when γ ≤ 1.
            return Gamma > 1 ? 1 / (Gamma - 1) : double.PositiveInfinity;
        }

        var logProduct = LogRatio(from, count);
        return Gamma == 1 ? HarmonicSum(from, count) : -ExpMinusOne(logProduct) / (Gamma - 1);
    }

    /// <summary>ln Π_{j=from}^{from+count−1} (1+δ+j)/(γ+δ+j), term by term with log1p when short (exact near γ = 1), by log-gamma otherwise.</summary>
    private double LogRatio(int from, long count)
    {
        if (count <= 100_000)
        {
            var sum = 0.0;
            for (var j = from; j < from + count; j++)
            {
                sum -= LogOnePlus((Gamma - 1) / (1 + Delta + j));
            }

            return sum;
        }

        return LogGamma(1 + Delta + from + count) - LogGamma(1 + Delta + from) - LogGamma(Gamma + Delta + from + count) + LogGamma(Gamma + Delta + from);
    }

    /// <summary>ln(1 + u), accurate for small u (Goldberg's correction of the rounded 1 + u).</summary>
    private static double LogOnePlus(double u)
    {
        var v = 1 + u;
        return v == 1 ? u : Math.Log(v) * u / (v - 1);
    }

    private double HarmonicSum(int from, long count)
    {
        if (count <= 100_000)
        {
            var sum = 0.0;
            for (var j = from; j < from + count; j++)
            {
                sum += 1 / (1 + Delta + j);
            }

            return sum;
        }

        return Digamma(1 + Delta + from + count) - Digamma(1 + Delta + from);
    }

    /// <summary>
    /// P(X(n) = x): the probability that a new customer transacts at exactly x of the first n opportunities (Fader, Hardie
    /// and Shang 2010: alive throughout, plus dying after opportunity i for each i from x to n − 1), every term in log space.
    /// </summary>
    /// <param name="x">The count, from 0 to n.</param>
    /// <param name="n">Opportunities, at least 0.</param>
    /// <returns>The probability.</returns>
    public double ProbabilityOfTransactions(int x, int n)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be at least 0");
        }

        if (x < 0 || x > n)
        {
            throw new EngagementValidationException("x", x, $"must be between 0 and the number of opportunities ({n})");
        }

        return Pmf(x, n, Alpha, Beta, Gamma, Delta);
    }

    private static double Pmf(int x, int n, double alpha, double beta, double gamma, double delta)
    {
        var (lbAb, lbGd) = (LogBeta(alpha, beta), LogBeta(gamma, delta));
        var total = Math.Exp(LogChoose(n, x) + LogBeta(alpha + x, beta + n - x) - lbAb + LogBeta(gamma, delta + n) - lbGd);
        for (var i = x; i < n; i++)
        {
            total += Math.Exp(LogChoose(i, x) + LogBeta(alpha + x, beta + i - x) - lbAb + LogBeta(gamma + 1, delta + i) - lbGd);
        }

        return total;

        static double LogChoose(int m, int k) => LogGamma(m + 1) - LogGamma(k + 1) - LogGamma(m - k + 1);
    }

    /// <summary>
    /// P(X(n, n + n*) = k | x, tₓ, n): the probability that a customer with this history transacts at exactly k of the next
    /// n* opportunities. A customer who dropped out makes none; one still alive after opportunity n is a new BG/BB customer
    /// with the updated parameters (α + x, β + n − x, γ, δ + n), so this is (1 − P(alive at n)) 1[k = 0] + P(alive at n) ·
    /// P(X(n*) = k | updated).
    /// </summary>
    /// <param name="k">The count, from 0 to n*.</param>
    /// <param name="futureOpportunities">n*, at least 0.</param>
    /// <param name="x">Transactions, in [0, tₓ].</param>
    /// <param name="tx">Opportunity of the last transaction, in [x, n]; 0 exactly when x = 0.</param>
    /// <param name="n">Opportunities so far, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ConditionalProbabilityOfTransactions(int k, int futureOpportunities, int x, int tx, int n)
    {
        if (futureOpportunities < 0)
        {
            throw new EngagementValidationException("futureOpportunities", futureOpportunities, "must be a number of opportunities, at least 0");
        }

        if (k < 0 || k > futureOpportunities)
        {
            throw new EngagementValidationException("k", k, $"must be between 0 and the number of future opportunities ({futureOpportunities})");
        }

        PredictionInputs.DiscreteHistory(x, tx, n);
        var alive = AliveAt(0, x, tx, n);
        return (k == 0 ? 1 - alive : 0) + (alive * Pmf(k, futureOpportunities, Alpha + x, Beta + n - x, Gamma, Delta + n));
    }

    /// <summary>P(alive at opportunity n + 1 | x, tₓ, n).</summary>
    /// <param name="x">Transactions, in [0, tₓ].</param>
    /// <param name="tx">Opportunity of the last transaction, in [x, n]; 0 exactly when x = 0.</param>
    /// <param name="n">Opportunities, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ProbabilityAlive(int x, int tx, int n)
    {
        PredictionInputs.DiscreteHistory(x, tx, n);
        return AliveAt(1, x, tx, n);
    }

    /// <summary>
    /// P(alive at opportunity n + m | x, tₓ, n) = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+m)/B(γ,δ) / L: the probability that a
    /// customer with this history is still alive m opportunities from now (m = 0: after opportunity n; m = 1: at the next
    /// one, <see cref="ProbabilityAlive"/>). It falls towards 0 as m grows (<see cref="int.MaxValue"/> gives the limit 0).
    /// </summary>
    /// <param name="opportunitiesAhead">m, at least 0.</param>
    /// <param name="x">Transactions, in [0, tₓ].</param>
    /// <param name="tx">Opportunity of the last transaction, in [x, n]; 0 exactly when x = 0.</param>
    /// <param name="n">Opportunities, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ProbabilityAliveAt(int opportunitiesAhead, int x, int tx, int n)
    {
        if (opportunitiesAhead < 0)
        {
            throw new EngagementValidationException("opportunitiesAhead", opportunitiesAhead, "must be a number of opportunities, at least 0");
        }

        PredictionInputs.DiscreteHistory(x, tx, n);
        return opportunitiesAhead == int.MaxValue ? 0 : AliveAt(opportunitiesAhead, x, tx, n);
    }

    private double AliveAt(long m, int x, int tx, int n)
    {
        var logL = LogLikelihood([Alpha, Beta, Gamma, Delta], [(x, tx, n, 1.0)], []);
        return Math.Exp(LogBeta(Alpha + x, Beta + n - x) - LogBeta(Alpha, Beta) + LogBeta(Gamma, Delta + n + m) - LogBeta(Gamma, Delta) - logL);
    }

    /// <summary>
    /// DERT (Fader, Hardie and Shang 2010, eq. 14): the discounted expected residual transactions, Σ_{k≥1} E[transaction at
    /// opportunity n + k | history] / (1 + d)ᵏ, in closed form
    /// B(α+x+1, β+n−x)/B(α,β) · B(γ, δ+n+1)/(B(γ,δ)(1+d)) · ₂F₁(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L. When d is so small that the
    /// series would need more than 200,000 terms, ₂F₁(1, b; c; ρ) is taken as its Euler integral E[1/(1 − ρu)] over
    /// u ~ Beta(b, c − b). d = 0 gives E[X(n, ∞) | history], +∞ when γ ≤ 1.
    /// </summary>
    /// <param name="discountRate">d: the discount rate per opportunity (0.1 for 10 % a year with yearly opportunities), at least 0 and finite.</param>
    /// <param name="x">Transactions, in [0, tₓ].</param>
    /// <param name="tx">Opportunity of the last transaction, in [x, n]; 0 exactly when x = 0.</param>
    /// <param name="n">Opportunities so far, at least 0.</param>
    /// <returns>The discounted expected number of future transactions.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double DiscountedExpectedTransactions(double discountRate, int x, int tx, int n)
    {
        if (!(discountRate >= 0) || double.IsInfinity(discountRate))
        {
            throw new EngagementValidationException("discountRate", discountRate, "must be a discount rate per opportunity, at least 0 and finite");
        }

        PredictionInputs.DiscreteHistory(x, tx, n);
        if (discountRate == 0)
        {
            return ConditionalExpectedTransactions(int.MaxValue, x, tx, n);
        }

        var logL = LogLikelihood([Alpha, Beta, Gamma, Delta], [(x, tx, n, 1.0)], []);
        var lead = LogBeta(Alpha + x + 1, Beta + n - x) - LogBeta(Alpha, Beta) + LogBeta(Gamma, Delta + n + 1) - LogBeta(Gamma, Delta) - LogOnePlus(discountRate) - logL;
        double b = Delta + n + 1, c = Gamma + Delta + n + 1;
        var rho = 1 / (1 + discountRate);
        var oneMinusRho = discountRate / (1 + discountRate);
        var logF = SeriesTerms(1, b, c, rho) <= 200_000
            ? LogHypergeometric2F1Value(1, b, c, rho)
            : Math.Log(ClvQuadrature.BetaExpectation(b, c - b, (u, v) => -Math.Log(v + (u * oneMinusRho))));
        return Math.Exp(lead + logF);
    }

    /// <summary>
    /// E[X(n, n + n*) | x, tₓ, n]: expected transactions in the next n* opportunities. Finite at γ = 1 (the limit is used);
    /// <paramref name="futureOpportunities"/> = <see cref="int.MaxValue"/> gives the limit n* → ∞, finite when γ &gt; 1 and
    /// +∞ when γ ≤ 1.
    /// </summary>
    /// <param name="futureOpportunities">n*, at least 0 (<see cref="int.MaxValue"/> for an infinite horizon).</param>
    /// <param name="x">Transactions, in [0, tₓ].</param>
    /// <param name="tx">Opportunity of the last transaction, in [x, n]; 0 exactly when x = 0.</param>
    /// <param name="n">Opportunities so far, at least 0.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ConditionalExpectedTransactions(int futureOpportunities, int x, int tx, int n)
    {
        if (futureOpportunities < 0)
        {
            throw new EngagementValidationException("futureOpportunities", futureOpportunities, "must be a number of opportunities, at least 0");
        }

        PredictionInputs.DiscreteHistory(x, tx, n);
        var logL = LogLikelihood([Alpha, Beta, Gamma, Delta], [(x, tx, n, 1.0)], []);

        // (1/L) B(α+x+1, β+n−x)/B(α,β) · δ · [Γ(γ+δ)Γ(1+δ+n)/(Γ(1+δ)Γ(γ+δ+n))] · [1 − Π_{j=n}^{n+n*−1} (1+δ+j)/(γ+δ+j)]/(γ−1).
        var lead = Math.Exp(LogBeta(Alpha + x + 1, Beta + n - x) - LogBeta(Alpha, Beta) - logL + LogRatio(0, n)) * Delta;
        var growth = Growth(n, futureOpportunities);
        return growth == 0 ? 0 : lead * growth;
    }
}
