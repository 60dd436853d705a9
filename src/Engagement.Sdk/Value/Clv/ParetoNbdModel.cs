using System.Collections.Concurrent;
using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): while alive a customer buys at Poisson rate
/// λ ~ Gamma(r, α); their lifetime is exponential with rate μ ~ Gamma(s, β). The likelihood's Gauss hypergeometric terms are
/// evaluated in log space with a bounded series tail and the difference of its two terms without cancellation; the gradient
/// is exact (forward-mode automatic differentiation).
/// </summary>
public sealed class ParetoNbdModel : ITransactionModel
{
    private static readonly string[] ParameterNames = ["r", "alpha", "s", "beta"];

    private ParetoNbdModel(double r, double alpha, double s, double beta, ClvFit? fit)
    {
        R = r;
        Alpha = alpha;
        S = s;
        Beta = beta;
        FitResult = fit;
    }

    /// <summary>The shape of the purchase-rate distribution.</summary>
    public double R { get; }

    /// <summary>The rate of the purchase-rate distribution.</summary>
    public double Alpha { get; }

    /// <summary>The shape of the death-rate distribution.</summary>
    public double S { get; }

    /// <summary>The rate of the death-rate distribution.</summary>
    public double Beta { get; }

    /// <summary>The fit, when fitted.</summary>
    public ClvFit? FitResult { get; }

    /// <inheritdoc />
    public string Name => "pnbd";

    /// <summary>A model with given parameters (all positive).</summary>
    /// <param name="r">r.</param>
    /// <param name="alpha">α.</param>
    /// <param name="s">s.</param>
    /// <param name="beta">β.</param>
    /// <returns>The model.</returns>
    public static ParetoNbdModel FromParameters(double r, double alpha, double s, double beta)
    {
        ModelParameters.RequirePositive(("r", r), ("alpha", alpha), ("s", s), ("beta", beta));

        return new ParetoNbdModel(r, alpha, s, beta, null);
    }

    /// <summary>Fits the model by maximum likelihood.</summary>
    /// <param name="data">The calibration data.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model; <see cref="ClvFit.Diagnostics"/> says whether the data determine it.</returns>
    /// <exception cref="ClvModelException">The data cannot identify the model.</exception>
    /// <exception cref="EngagementValidationException">An option breaks its rule.</exception>
    public static ParetoNbdModel Fit(RfmData data, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        data.RequireFittable("Pareto/NBD");
        var meanT = Math.Max(data.MeanAge, 1e-3);
        var fit = MaximumLikelihood.Fit(
            new MaximumLikelihood.Problem("Pareto/NBD", ParameterNames, (p, g) => LogLikelihood(p, data, g), [1, meanT, 1, meanT], data.TotalWeight) { Scales = [1, meanT, 1, meanT] },
            options);
        return new ParetoNbdModel(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3], fit);
    }

    /// <summary>The total log-likelihood and its exact gradient in (r, α, s, β).</summary>
    /// <param name="parameters">r, α, s, β.</param>
    /// <param name="data">The data.</param>
    /// <param name="gradient">Receives the gradient; may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, RfmData data, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(data);
        var r = Dual.Variable(parameters[0], 0);
        var alpha = Dual.Variable(parameters[1], 1);
        var s = Dual.Variable(parameters[2], 2);
        var beta = Dual.Variable(parameters[3], 3);
        var constant = (r * Dual.Log(alpha)) + (s * Dual.Log(beta)) - Dual.LogGamma(r);

        // The hypergeometric terms depend on (x, y) only, with y = tₓ or T: compute each distinct pair once.
        var termT = ParetoNbdTerms.Compute(r, alpha, s, beta, data.PairXT, data.DistinctT);
        var termTx = ParetoNbdTerms.Compute(r, alpha, s, beta, data.PairXTx, data.DistinctTx);

        // What depends on x alone (lnΓ(r + x) + the constant, ln s − ln(r + s + x)), and on (x, T) alone (the first part
        // of the likelihood, −(r + x) ln(α + T) − s ln(β + T)), once per value or pair: a row then needs the two
        // log-sum/difference steps only.
        var byX = new Dual[data.MaxX + 1];
        var leadX = new Dual[data.MaxX + 1];
        var logS = Dual.Log(s);
        for (var x = 0; x <= data.MaxX; x++)
        {
            byX[x] = Dual.LogGamma(r + x) + constant;
            leadX[x] = logS - Dual.Log(r + x + s);
        }

        var logAlphaT = new Dual[data.DistinctT.Length];
        var logBetaT = new Dual[data.DistinctT.Length];
        for (var k = 0; k < data.DistinctT.Length; k++)
        {
            logAlphaT[k] = Dual.Log(alpha + data.DistinctT[k]);
            logBetaT[k] = Dual.Log(beta + data.DistinctT[k]);
        }

        var pairT = data.PairXT;
        var first = new Dual[pairT.Length];
        for (var k = 0; k < pairT.Length; k++)
        {
            first[k] = -((r + pairT[k].X) * logAlphaT[pairT[k].Y]) - (s * logBetaT[pairT[k].Y]);
        }

        var rows = RowParts.Of(data, first, termT, termTx, leadX);
        var sums = ParallelSum.Run(data.X.Length, 5, (start, end, acc) =>
        {
            Dual total = 0;
            for (var i = start; i < end; i++)
            {
                var w = data.Weight[i];
                if (w == 0)
                {
                    // A row left out of a resample contributes nothing.
                    continue;
                }

                var x = data.XInt[i];
                var atT = data.PairXTIndex[i];
                var row = data.Tx[i] < data.T[i] ? rows.Row(atT, data.PairXTxIndex[i], x) : first[atT];
                total += (byX[x] + row) * w;
            }

            acc[0] += total.V;
            acc[1] += total.D0;
            acc[2] += total.D1;
            acc[3] += total.D2;
            acc[4] += total.D3;
        });

        if (gradient.Length >= 4)
        {
            gradient[0] = sums[1];
            gradient[1] = sums[2];
            gradient[2] = sums[3];
            gradient[3] = sums[4];
        }

        return sums[0];
    }

    /// <summary>
    /// The per-pair parts of a row's log-likelihood term ln[e^{b₁} + e^{lead}(e^{term(tₓ)} − e^{term(T)})] (b₁ the alive part,
    /// lead = ln s − ln(r + s + x)), arranged so that a row costs one logarithm instead of the seven exponentials and logarithms
    /// of the nested log-sum and log-difference. The row is e^{u} + e^{v} with u = ln(e^{b₁} − e^{lead + term(T)}) per (x, T)
    /// pair (positive: the part of A₀ beyond T is at most the alive part, as the death density integrates to at most 1 and
    /// the purchase factor only falls after T) and v = lead + term(tₓ) per (x, tₓ) pair. Its logarithm is u + ln(1 + e^{v − u}),
    /// and e^{v − u} is the product of e^{v − m} (per (x, tₓ) pair) and e^{m − u} (per (x, T) pair) with one centre m per x,
    /// so no exponential is taken per row. Where a factor would leave the range of a double (|exponent| &gt; 700), where the
    /// product overflows, or where rounding leaves no positive difference for u, the row falls back to the nested form.
    /// </summary>
    private sealed class RowParts
    {
        private const double MaxExponent = 700;
        private readonly Dual[] _first;
        private readonly Dual[] _termT;
        private readonly Dual[] _termTx;
        private readonly Dual[] _leadX;
        private readonly Dual[] _alive;
        private readonly Dual[] _dead;
        private readonly double[] _fromAlive;
        private readonly double[] _fromDead;

        private RowParts(Dual[] first, Dual[] termT, Dual[] termTx, Dual[] leadX, Dual[] alive, Dual[] dead, double[] fromAlive, double[] fromDead)
        {
            (_first, _termT, _termTx, _leadX) = (first, termT, termTx, leadX);
            (_alive, _dead, _fromAlive, _fromDead) = (alive, dead, fromAlive, fromDead);
        }

        public static RowParts Of(RfmData data, Dual[] first, Dual[] termT, Dual[] termTx, Dual[] leadX)
        {
            var (pairT, pairTx) = (data.PairXT, data.PairXTx);
            var alive = new Dual[pairT.Length];
            var dead = new Dual[pairTx.Length];
            var low = new double[data.MaxX + 1];
            var high = new double[data.MaxX + 1];
            Array.Fill(low, double.PositiveInfinity);
            Array.Fill(high, double.NegativeInfinity);
            for (var k = 0; k < pairT.Length; k++)
            {
                var x = pairT[k].X;
                var beyond = leadX[x] + termT[k];
                if (beyond.V < first[k].V)
                {
                    alive[k] = Dual.LogDiffExp(first[k], beyond);
                    (low[x], high[x]) = (Math.Min(low[x], alive[k].V), Math.Max(high[x], alive[k].V));
                }
                else
                {
                    alive[k] = new Dual(double.NaN);
                }
            }

            for (var k = 0; k < pairTx.Length; k++)
            {
                var x = pairTx[k].X;
                dead[k] = leadX[x] + termTx[k];
                (low[x], high[x]) = (Math.Min(low[x], dead[k].V), Math.Max(high[x], dead[k].V));
            }

            // e^{m − u} per (x, T) pair and e^{v − m} per (x, tₓ) pair, m the middle of x's range; NaN sends a row to the nested form.
            var fromAlive = new double[pairT.Length];
            var fromDead = new double[pairTx.Length];
            for (var k = 0; k < pairT.Length; k++)
            {
                var x = pairT[k].X;
                fromAlive[k] = Scaled((low[x] + high[x]) / 2 - alive[k].V);
            }

            for (var k = 0; k < pairTx.Length; k++)
            {
                var x = pairTx[k].X;
                fromDead[k] = Scaled(dead[k].V - ((low[x] + high[x]) / 2));
            }

            return new RowParts(first, termT, termTx, leadX, alive, dead, fromAlive, fromDead);
        }

        private static double Scaled(double exponent) => Math.Abs(exponent) <= MaxExponent ? Math.Exp(exponent) : double.NaN;

        /// <summary>The row's ln[e^{b₁} + e^{lead}(e^{term(tₓ)} − e^{term(T)})] for tₓ &lt; T.</summary>
        public Dual Row(int atT, int atTx, int x)
        {
            var ratio = _fromDead[atTx] * _fromAlive[atT];
            if (double.IsFinite(ratio))
            {
                return Dual.LogSumExp(_alive[atT], _dead[atTx], ratio);
            }

            return Dual.LogSumExp(_first[atT], _leadX[x] + Dual.LogDiffExp(_termTx[atTx], _termT[atT]));
        }
    }

    private static Dual LogA0(Dual r, Dual alpha, Dual s, Dual beta, double x, double tx, double t)
        => tx >= t ? new Dual(double.NegativeInfinity) : Dual.LogDiffExp(ParetoNbdTerms.Series(r, alpha, s, beta, x, tx), ParetoNbdTerms.Series(r, alpha, s, beta, x, t));

    /// <summary>P(alive | x, tₓ, T).</summary>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="t">Age T.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule (x a whole number ≥ 0, 0 ≤ tₓ ≤ T finite, tₓ = 0 when x = 0); the exception names it.</exception>
    public double ProbabilityAlive(double x, double tx, double t)
    {
        PredictionInputs.History(x, tx, t, ageName: "t");
        return Alive(x, tx, t);
    }

    private double Alive(double x, double tx, double t)
    {
        if (tx >= t)
        {
            return 1;
        }

        var logA0 = LogDiffExp(TermValue(x, tx), TermValue(x, t));
        if (double.IsNegativeInfinity(logA0))
        {
            return 1;
        }

        var log = Math.Log(S) - Math.Log(R + S + x) + ((R + x) * Math.Log(Alpha + t)) + (S * Math.Log(Beta + t)) + logA0;
        return 1 / (1 + Math.Exp(log));
    }

    /// <summary>ln[₂F₁(…; z(y)) / (max(α, β) + y)^{r+s+x}]: one half of A₀, as the batch predictions compute it.</summary>
    private double TermValue(double x, double y)
    {
        var rsx = R + S + x;
        return Alpha >= Beta
            ? LogHypergeometric2F1Value(rsx, S + 1, rsx + 1, (Alpha - Beta) / (Alpha + y)) - (rsx * Math.Log(Alpha + y))
            : LogHypergeometric2F1Value(rsx, R + x, rsx + 1, (Beta - Alpha) / (Beta + y)) - (rsx * Math.Log(Beta + y));
    }

    /// <inheritdoc />
    public void ProbabilityAlive(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        PredictionInputs.Batch(x, tx, age, result);
        PerCustomer(x, tx, age, result, static (_, _) => 1);
    }

    /// <summary>
    /// P(alive at T + t | x, tₓ, T): the probability that a customer with this history is still active
    /// <paramref name="t"/> time units from now. The lifetime is memoryless, so it is P(alive) · E[e^(−μt)] with
    /// μ ~ Gamma(s, β + T) for an active customer: P(alive) · ((β + T)/(β + T + t))ˢ.
    /// </summary>
    /// <param name="t">How far ahead: at least 0 and finite.</param>
    /// <param name="x">Repeat transactions: a whole number, at least 0.</param>
    /// <param name="tx">Recency, in [0, T]; 0 when x = 0.</param>
    /// <param name="age">Age T: finite, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ProbabilityAliveAfter(double t, double x, double tx, double age)
    {
        PredictionInputs.FiniteHorizon(t);
        PredictionInputs.History(x, tx, age);
        return Alive(x, tx, age) * Math.Exp(-S * ClvQuadrature.LogOnePlus(t / (Beta + age)));
    }

    /// <summary>E[X(t)] for a new customer.</summary>
    /// <param name="t">The horizon.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="t"/> is negative or NaN (+∞ gives the limit rβ/(α(s − 1)) when s &gt; 1, +∞ otherwise).</exception>
    public double ExpectedTransactions(double t)
    {
        PredictionInputs.Horizon(t);
        if (t == 0)
        {
            return 0;
        }

        if (double.IsPositiveInfinity(t))
        {
            return S > 1 ? R * Beta / (Alpha * (S - 1)) : double.PositiveInfinity;
        }

        return Math.Abs(S - 1) < 1e-12
            ? R * Beta / Alpha * ClvQuadrature.LogOnePlus(t / Beta)
            : R * Beta / (Alpha * (S - 1)) * -SpecialFunctions.ExpMinusOne(-(S - 1) * ClvQuadrature.LogOnePlus(t / Beta));
    }

    /// <summary>
    /// P(X(t) = n): the probability that a new customer makes exactly n transactions in (0, t] (Fader and Hardie's closed
    /// form: the customer alive throughout, plus dying at some τ &lt; t after n purchases, with the Gauss hypergeometric terms
    /// in log space and their difference taken without cancellation).
    /// </summary>
    /// <param name="n">The count, at least 0.</param>
    /// <param name="t">The horizon, positive.</param>
    /// <returns>The probability.</returns>
    public double ProbabilityOfTransactions(int n, double t)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be at least 0");
        }

        if (!(t > 0) || double.IsInfinity(t))
        {
            throw new EngagementValidationException("t", t, "must be a positive, finite horizon");
        }

        return Pmf(n, t, R, Alpha, S, Beta);
    }

    /// <summary>
    /// P(Y(t) = n | x, tₓ, T): the probability that a customer with this history makes exactly n transactions in the next t.
    /// A customer who is no longer active makes none; an active one is, by the memoryless lifetime, a new Pareto/NBD customer
    /// with the updated parameters (r + x, α + T, s, β + T): (1 − P(alive)) 1[n = 0] + P(alive) · P(X(t) = n | updated).
    /// </summary>
    /// <param name="n">The count, at least 0.</param>
    /// <param name="t">The horizon, at least 0 and finite.</param>
    /// <param name="x">Repeat transactions: a whole number, at least 0.</param>
    /// <param name="tx">Recency, in [0, T]; 0 when x = 0.</param>
    /// <param name="age">Age T: finite, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ConditionalProbabilityOfTransactions(int n, double t, double x, double tx, double age)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be at least 0");
        }

        PredictionInputs.FiniteHorizon(t);
        PredictionInputs.History(x, tx, age);
        var alive = Alive(x, tx, age);
        var active = t == 0 ? (n == 0 ? 1 : 0) : Pmf(n, t, R + x, Alpha + age, S, Beta + age);
        return (n == 0 ? 1 - alive : 0) + (alive * active);
    }

    private static double Pmf(int n, double t, double r, double a, double s, double b)
    {
        var alive = LogGamma(r + n) - LogGamma(r) - LogGamma(n + 1) - (r * ClvQuadrature.LogOnePlus(t / a)) + (n == 0 ? 0 : n * Math.Log(t / (a + t))) - (s * ClvQuadrature.LogOnePlus(t / b));

        // The customer dies at τ < t after n purchases: α^r β^s B(r+n, s+1)/B(r, s) × {B₁ − Σⱼ Γ(r+s+j)/(Γ(r+s) j!) tʲ B₂ⱼ}.
        var c = r + s + n + 1;
        double logB1;
        var terms = new double[n + 1];
        if (a >= b)
        {
            logB1 = LogHypergeometric2F1Value(r + s, s + 1, c, (a - b) / a) - ((r + s) * Math.Log(a));
            for (var j = 0; j <= n; j++)
            {
                terms[j] = LogHypergeometric2F1Value(r + s + j, s + 1, c, (a - b) / (a + t)) - ((r + s + j) * Math.Log(a + t));
            }
        }
        else
        {
            logB1 = LogHypergeometric2F1Value(r + s, r + n, c, (b - a) / b) - ((r + s) * Math.Log(b));
            for (var j = 0; j <= n; j++)
            {
                terms[j] = LogHypergeometric2F1Value(r + s + j, r + n, c, (b - a) / (b + t)) - ((r + s + j) * Math.Log(b + t));
            }
        }

        var logSum = double.NegativeInfinity;
        for (var j = 0; j <= n; j++)
        {
            logSum = LogSumExp(logSum, LogGamma(r + s + j) - LogGamma(r + s) - LogGamma(j + 1) + (j == 0 ? 0 : j * Math.Log(t)) + terms[j]);
        }

        var lead = (r * Math.Log(a)) + (s * Math.Log(b)) + LogBeta(r + n, s + 1) - LogBeta(r, s);
        var died = logSum >= logB1 ? double.NegativeInfinity : lead + LogDiffExp(logB1, logSum);
        return Math.Exp(alive) + Math.Exp(died);
    }

    /// <summary>E[Y(t) | x, tₓ, T].</summary>
    /// <param name="t">The horizon.</param>
    /// <param name="x">Repeat transactions.</param>
    /// <param name="tx">Recency.</param>
    /// <param name="age">Age T.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule (t ≥ 0 or +∞, x a whole number ≥ 0, 0 ≤ tₓ ≤ T finite, tₓ = 0 when x = 0); the exception names it.</exception>
    public double ConditionalExpectedTransactions(double t, double x, double tx, double age)
    {
        PredictionInputs.Horizon(t);
        PredictionInputs.History(x, tx, age);
        if (t == 0)
        {
            return 0;
        }

        return Combine(Alive(x, tx, age), AliveExpectation(t, x, age));
    }

    /// <summary>P(alive) · scale: +∞ when the scale is (an infinite horizon with s ≤ 1), even where P(alive) underflows to 0.</summary>
    private static double Combine(double alive, double scale) => double.IsPositiveInfinity(scale) ? scale : alive * scale;

    /// <summary>E[Y(t) | alive at T] for a customer with x repeat purchases and age T: (r + x)(β + T)/(α + T) times the growth of the death-rate term over t.</summary>
    internal double AliveExpectation(double t, double x, double age)
    {
        double growth;
        if (double.IsPositiveInfinity(t))
        {
            growth = S > 1 ? 1 / (S - 1) : double.PositiveInfinity;
        }
        else
        {
            var logRatio = ClvQuadrature.LogOnePlus(t / (Beta + age));
            growth = Math.Abs(S - 1) < 1e-12 ? logRatio : -SpecialFunctions.ExpMinusOne(-(S - 1) * logRatio) / (S - 1);
        }

        return (R + x) * (Beta + age) / (Alpha + age) * growth;
    }

    /// <inheritdoc />
    public void ConditionalExpectedTransactions(double t, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        PredictionInputs.Batch(x, tx, age, result);
        PredictionInputs.Horizon(t);
        if (t == 0)
        {
            result[..x.Length].Clear();
            return;
        }

        PerCustomer(x, tx, age, result, (xi, y) => AliveExpectation(t, xi, y));
    }

    /// <summary>
    /// DERT (Fader, Hardie and Lee 2005, "RFM and CLV", eq. 2): the discounted expected residual transactions at continuous
    /// discount rate δ per time unit. An active customer buys at rate λ until an exponential death at rate μ, so the
    /// discounted count is λ/(δ + μ); over the posterior λ ~ Gamma(r + x, α + T), μ ~ Gamma(s, β + T) that is
    /// P(alive) · (r + x)/(α + T) · (β + T)ˢ δ^(s−1) U(s, s; δ(β + T)), with U Tricomi's confluent hypergeometric function —
    /// the published α^r β^s δ^(s−1) Γ(r+x+1) U(s, s; δ(β+T)) / [Γ(r) (α+T)^(r+x+1) L]. U is evaluated as the integral
    /// ∫₀^∞ e^(−δ(β+T)y) (1 + y)^(−s) dy (to about 10⁻¹³), which has no cancellation for any s. δ = 0 gives
    /// E[Y(∞) | history], +∞ when s ≤ 1.
    /// </summary>
    /// <param name="discountRate">δ: the continuous discount rate per time unit (ln(1 + annual rate)/52 for weekly data), at least 0 and finite.</param>
    /// <param name="x">Repeat transactions: a whole number, at least 0.</param>
    /// <param name="tx">Recency, in [0, T]; 0 when x = 0.</param>
    /// <param name="age">Age T: finite, at least 0.</param>
    /// <returns>The discounted expected number of future transactions.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double DiscountedExpectedTransactions(double discountRate, double x, double tx, double age)
    {
        PredictionInputs.DiscountRate(discountRate);
        PredictionInputs.History(x, tx, age);
        return Combine(Alive(x, tx, age), DiscountedAliveExpectation(discountRate, x, age));
    }

    /// <inheritdoc />
    public void DiscountedExpectedTransactions(double discountRate, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        PredictionInputs.Batch(x, tx, age, result);
        PredictionInputs.DiscountRate(discountRate);

        // The U factor depends on T only: once per distinct T.
        var byAge = new ConcurrentDictionary<double, double>();
        PerCustomer(x, tx, age, result, (xi, y) => (R + xi) / (Alpha + y) * byAge.GetOrAdd(y, v => DiscountedAliveExpectation(discountRate, 0, v) * (Alpha + v) / R));
    }

    /// <summary>DERT for a customer known to be active: (r + x)/(α + T) · (β + T) · h(s, δ(β + T)), h(s, z) = E[1/(z + G)], G ~ Gamma(s, 1).</summary>
    internal double DiscountedAliveExpectation(double delta, double x, double age)
    {
        if (delta == 0)
        {
            return AliveExpectation(double.PositiveInfinity, x, age);
        }

        return (R + x) / (Alpha + age) * (Beta + age) * Math.Exp(ClvQuadrature.LogLaplaceOfPower(S, delta * (Beta + age)));
    }

    /// <summary>
    /// Per-customer predictions of the form P(alive | x, tₓ, T) · scale(x, T). P(alive) needs two hypergeometric terms per
    /// customer, each depending on (x, y) only: collect the distinct pairs, compute their terms once (in parallel when there
    /// are many), then combine per customer. Each customer's two pair positions are parked in its own result slot (two
    /// 32-bit integers in one 64-bit value) until the slot receives the result, so memory grows with the distinct pairs
    /// only, not with the customers.
    /// </summary>
    private void PerCustomer(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result, Func<double, double, double> scaleOf)
    {
        var n = x.Length;
        unsafe
        {
            fixed (double* px = x, ptx = tx, page = age, presult = result)
            {
                var (ax, atx, aage, aresult) = ((nint)px, (nint)ptx, (nint)page, (nint)presult);
                var found = BatchPairs.Find(n, (index, from, to) =>
                {
                    for (var i = from; i < to; i++)
                    {
                        var xi = ((double*)ax)[i];
                        ((double*)aresult)[i] = BitConverter.Int64BitsToDouble(((long)index.Position(xi, ((double*)atx)[i]) << 32) | (uint)index.Position(xi, ((double*)aage)[i]));
                    }
                });

                // Per pair: its hypergeometric term, and — for the pair as (x, T) — the parts of P(alive) and of the
                // scale that depend on x and T only, so that each customer needs three transcendental functions. The
                // scale of a pair used only as (x, tₓ) is computed on first use, never for nothing.
                var pairs = found.All.Pairs;
                var terms = new double[pairs.Count];
                var lead = new double[pairs.Count];
                var scale = new double[pairs.Count];
                var logS = Math.Log(S);
                void Compute(int k)
                {
                    var (xi, y) = pairs[k];
                    var rsx = R + S + xi;
                    terms[k] = TermValue(xi, y);
                    lead[k] = logS - Math.Log(R + S + xi) + ((R + xi) * Math.Log(Alpha + y)) + (S * Math.Log(Beta + y));
                    scale[k] = double.NaN;
                }

                found.ForEachPair(Compute);
                BatchPairs.ForEachChunk(n, (from, to) => found.Combine(from, to, (start, end, remap) =>
                {
                    for (var i = start; i < end; i++)
                    {
                        var packed = BitConverter.DoubleToInt64Bits(((double*)aresult)[i]);
                        int atTx = (int)(packed >> 32), atT = (int)(uint)packed;
                        if (remap is not null)
                        {
                            (atTx, atT) = (remap[atTx], remap[atT]);
                        }

                        // Several threads may fill the same pair's scale at once; they write the same value.
                        var sc = scale[atT];
                        if (double.IsNaN(sc))
                        {
                            sc = scale[atT] = scaleOf(pairs[atT].X, pairs[atT].Y);
                        }

                        // tₓ = T makes A₀ = 0 (the same term twice), so P(alive) = 1.
                        var logA0 = SpecialFunctions.LogDiffExp(terms[atTx], terms[atT]);
                        var alive = double.IsNegativeInfinity(logA0) ? 1 : 1 / (1 + Math.Exp(lead[atT] + logA0));
                        ((double*)aresult)[i] = Combine(alive, sc);
                    }
                }));
            }
        }
    }

    /// <summary>Simulates customers observed for an age drawn uniformly from [<paramref name="minAge"/>, <paramref name="maxAge"/>].</summary>
    /// <param name="customers">How many.</param>
    /// <param name="minAge">The shortest observation.</param>
    /// <param name="maxAge">The longest observation.</param>
    /// <param name="seed">The random seed.</param>
    /// <param name="roundToWholeUnits">Whether purchase times are rounded down to whole time units.</param>
    /// <returns>The data.</returns>
    public RfmData Simulate(int customers, double minAge, double maxAge, int seed, bool roundToWholeUnits = false)
    {
        var random = new Random(seed);
        var rows = new List<(double, double, double, double)>(customers);
        for (var i = 0; i < customers; i++)
        {
            var age = minAge + (random.NextDouble() * (maxAge - minAge));
            if (roundToWholeUnits)
            {
                age = Math.Floor(age);
            }

            var (x, last) = SimulateOne(random, age, roundToWholeUnits);
            rows.Add((x, last, age, 1));
        }

        return RfmData.Create(rows);
    }

    /// <summary>One customer observed for <paramref name="age"/>: (x, tₓ).</summary>
    internal (int X, double Tx) SimulateOne(Random random, double age, bool roundToWholeUnits)
    {
        var lambda = RandomVariates.Gamma(random, R) / Alpha;
        var mu = RandomVariates.Gamma(random, S) / Beta;
        var death = Math.Min(RandomVariates.Exponential(random, mu), age);
        double time = 0, last = 0;
        var x = 0;
        while (true)
        {
            time += RandomVariates.Exponential(random, lambda);
            if (time > death)
            {
                break;
            }

            var unit = roundToWholeUnits ? Math.Floor(time) : time;
            if (!roundToWholeUnits || unit > last)
            {
                x++;
                last = unit;
            }
        }

        return (x, x == 0 ? 0 : last);
    }
}
