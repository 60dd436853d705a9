using System.Collections.Concurrent;
using System.Runtime.Intrinsics;
using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The BG/NBD model (Fader, Hardie and Lee 2005): while alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each
/// repeat purchase they drop out with probability p ~ Beta(a, b). With <see cref="IsModified"/> it is the MBG/NBD model
/// (Batislam, Denizel and Filiztekin 2007), in which a customer can also drop out right after the first purchase, so
/// P(alive) is below 1 even for customers with no repeat purchase.
/// </summary>
public sealed class BgNbdModel : ITransactionModel
{
    private static readonly string[] ParameterNames = ["r", "alpha", "a", "b"];

    private BgNbdModel(double r, double alpha, double a, double b, bool modified, ClvFit? fit)
    {
        R = r;
        Alpha = alpha;
        A = a;
        B = b;
        IsModified = modified;
        FitResult = fit;
    }

    /// <summary>The shape of the purchase-rate distribution.</summary>
    public double R { get; }

    /// <summary>The rate (scale in time units) of the purchase-rate distribution.</summary>
    public double Alpha { get; }

    /// <summary>The first shape of the drop-out probability distribution.</summary>
    public double A { get; }

    /// <summary>The second shape of the drop-out probability distribution.</summary>
    public double B { get; }

    /// <summary>Whether this is the MBG/NBD variant.</summary>
    public bool IsModified { get; }

    /// <summary>The fit, when the model was fitted.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>The model's name: <c>bgnbd</c> or <c>mbgnbd</c>.</summary>
    public string Name => IsModified ? "mbgnbd" : "bgnbd";

    /// <summary>A model with given parameters.</summary>
    /// <param name="r">r &gt; 0.</param>
    /// <param name="alpha">α &gt; 0.</param>
    /// <param name="a">a &gt; 0.</param>
    /// <param name="b">b &gt; 0.</param>
    /// <param name="modified">Whether it is MBG/NBD.</param>
    /// <returns>The model.</returns>
    public static BgNbdModel FromParameters(double r, double alpha, double a, double b, bool modified = false)
    {
        ModelParameters.RequirePositive(("r", r), ("alpha", alpha), ("a", a), ("b", b));
        return new BgNbdModel(r, alpha, a, b, modified, null);
    }

    /// <summary>Fits the model by maximum likelihood.</summary>
    /// <param name="data">The calibration data.</param>
    /// <param name="modified">Whether to fit MBG/NBD.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model; <see cref="ClvFit.Diagnostics"/> says whether the data determine it.</returns>
    /// <exception cref="ClvModelException">The data cannot identify the model.</exception>
    /// <exception cref="EngagementValidationException">An option breaks its rule.</exception>
    public static BgNbdModel Fit(RfmData data, bool modified = false, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        data.RequireFittable(modified ? "MBG/NBD" : "BG/NBD");
        var meanT = Math.Max(data.MeanAge, 1e-3);
        var fit = MaximumLikelihood.Fit(
            new MaximumLikelihood.Problem(modified ? "MBG/NBD" : "BG/NBD", ParameterNames, (p, g) => LogLikelihood(p, data, g, modified), [1, meanT, 1, 1], data.TotalWeight) { Scales = [1, meanT, 1, 1] },
            options);
        return new BgNbdModel(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3], modified, fit);
    }

    /// <summary>The total log-likelihood of <paramref name="data"/> at (r, α, a, b), and its gradient.</summary>
    /// <param name="parameters">r, α, a, b.</param>
    /// <param name="data">The data.</param>
    /// <param name="gradient">Receives ∂LL/∂(r, α, a, b); may be empty.</param>
    /// <param name="modified">Whether it is MBG/NBD.</param>
    /// <returns>Σ weight · ln L.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, RfmData data, Span<double> gradient, bool modified = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        double r = parameters[0], alpha = parameters[1], a = parameters[2], b = parameters[3];
        var shift = modified ? 1 : 0;

        // Everything that depends on x alone is tabulated by recurrence (lnΓ(z+1) = lnΓ(z) + ln z, ψ(z+1) = ψ(z) + 1/z),
        // and everything that depends on T or tₓ alone per distinct value, so the row loop needs one exp and one log.
        var maxX = data.MaxX;
        var lgR = new double[maxX + 1];
        var dR = new double[maxX + 1];
        var lgB = new double[maxX + 1];
        var dB = new double[maxX + 1];
        var lgAb = new double[maxX + 1];
        var dAb = new double[maxX + 1];
        var logA4 = new double[maxX + 1];
        var invB4 = new double[maxX + 1];
        lgB[0] = shift == 1 ? Math.Log(b) : 0;
        dB[0] = shift == 1 ? 1 / b : 0;
        lgAb[0] = shift == 1 ? Math.Log(a + b) : 0;
        dAb[0] = shift == 1 ? 1 / (a + b) : 0;
        for (var x = 0; x <= maxX; x++)
        {
            if (x > 0)
            {
                lgR[x] = lgR[x - 1] + Math.Log(r + x - 1);
                dR[x] = dR[x - 1] + (1 / (r + x - 1));
                lgB[x] = lgB[x - 1] + Math.Log(b + x - 1 + shift);
                dB[x] = dB[x - 1] + (1 / (b + x - 1 + shift));
                lgAb[x] = lgAb[x - 1] + Math.Log(a + b + x - 1 + shift);
                dAb[x] = dAb[x - 1] + (1 / (a + b + x - 1 + shift));
            }

            var denominator = b + x - 1 + shift;
            logA4[x] = denominator > 0 ? Math.Log(a) - Math.Log(denominator) : double.NegativeInfinity;
            invB4[x] = denominator > 0 ? 1 / denominator : 0;
        }

        var logT = data.DistinctT.Select(t => Math.Log(alpha + t)).ToArray();
        var invT = data.DistinctT.Select(t => 1 / (alpha + t)).ToArray();
        var logTx = data.DistinctTx.Select(t => Math.Log(alpha + t)).ToArray();
        var invTx = data.DistinctTx.Select(t => 1 / (alpha + t)).ToArray();
        var logAlpha = Math.Log(alpha);
        var xs = data.XInt;
        var ti = data.TIndex;
        var txi = data.TxIndex;
        var ws = data.Weight;

        // A row's likelihood is e^{A₃} + e^{A₄} = e^{A₃} (1 + ρ) with ρ = a/(b + x − 1 + shift) · ((α + T)/(α + tₓ))^(r+x), and
        // ρ is the product of a factor per x, one per (x, T) pair and one per (x, tₓ) pair (the powers taken about a centre c
        // in ln(α + ·) so that they stay within the range of a double): a row then needs one logarithm and no exponential.
        // A factor out of range (|exponent| > 700) is NaN, and the rows it touches take the two exponentials instead.
        var centre = (Math.Log(alpha + data.DistinctT[0]) + Math.Log(alpha + data.DistinctT[^1])) / 2;
        var byX = new double[maxX + 1];
        for (var x = 0; x <= maxX; x++)
        {
            byX[x] = shift == 1 || x > 0 ? Math.Exp(logA4[x]) : 0;
        }

        var atT = PowerFactors(data.PairXT, logT, r, centre, 1);
        var atTx = PowerFactors(data.PairXTx, logTx, r, centre, -1);
        var pairT = data.PairXTIndex;
        var pairTx = data.PairXTxIndex;

        var sums = ParallelSum.Run(xs.Length, 5, (start, end, acc) =>
        {
            double total = 0, gr = 0, galpha = 0, ga = 0, gb = 0;
            for (var i = start; i < end; i++)
            {
                var x = xs[i];
                var w = ws[i];
                if (w == 0)
                {
                    // A row no customer of a bootstrap resample fell on (about a third of them): it adds nothing.
                    continue;
                }

                var rx = r + x;
                var a3 = -rx * logT[ti[i]];
                var ratio = byX[x] * atT[pairT[i]] * atTx[pairTx[i]];
                double logSum, w3, w4;
                if (double.IsFinite(ratio))
                {
                    logSum = a3 + Math.Log(1 + ratio);
                    w3 = 1 / (1 + ratio);
                    w4 = ratio * w3;
                }
                else
                {
                    var hasA4 = shift == 1 || x > 0;
                    var a4 = hasA4 ? logA4[x] - (rx * logTx[txi[i]]) : double.NegativeInfinity;
                    var max = hasA4 && a4 > a3 ? a4 : a3;
                    var e3 = Math.Exp(a3 - max);
                    var e4 = hasA4 ? Math.Exp(a4 - max) : 0;
                    var sum = e3 + e4;
                    logSum = max + Math.Log(sum);
                    w3 = e3 / sum;
                    w4 = e4 / sum;
                }

                total += w * (lgR[x] + (r * logAlpha) + lgB[x] - lgAb[x] + logSum);
                gr += w * (dR[x] + logAlpha - (w3 * logT[ti[i]]) - (w4 * logTx[txi[i]]));
                galpha += w * ((r / alpha) - (rx * ((w3 * invT[ti[i]]) + (w4 * invTx[txi[i]]))));
                ga += w * (-dAb[x] + (w4 / a));
                gb += w * (dB[x] - dAb[x] - (w4 * invB4[x]));
            }

            acc[0] += total;
            acc[1] += gr;
            acc[2] += galpha;
            acc[3] += ga;
            acc[4] += gb;
        });

        // lnΓ(r) and the B(a, b) terms were folded into the tables as differences, so nothing else is needed.
        if (gradient.Length >= 4)
        {
            gradient[0] = sums[1];
            gradient[1] = sums[2];
            gradient[2] = sums[3];
            gradient[3] = sums[4];
        }

        return sums[0];
    }

    /// <summary>e^(sign · (r + x)(ln(α + y) − centre)) for each (x, y) pair; NaN where the exponent is beyond ±700.</summary>
    private static double[] PowerFactors((int X, int Y)[] pairs, double[] logs, double r, double centre, int sign)
    {
        var factors = new double[pairs.Length];
        for (var k = 0; k < pairs.Length; k++)
        {
            var exponent = sign * (r + pairs[k].X) * (logs[pairs[k].Y] - centre);
            factors[k] = Math.Abs(exponent) <= 700 ? Math.Exp(exponent) : double.NaN;
        }

        return factors;
    }

    /// <summary>P(alive | x, tₓ, T): the probability that a customer with this history is still active at T.</summary>
    /// <param name="x">Repeat transactions: a whole number, at least 0.</param>
    /// <param name="tx">Recency, in [0, T]; 0 when x = 0.</param>
    /// <param name="t">Age T: finite, at least 0.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ProbabilityAlive(double x, double tx, double t)
    {
        PredictionInputs.History(x, tx, t, ageName: "t");
        return 1 / AliveDenominator(x, tx, t);
    }

    /// <summary>1/P(alive): 1 + a/(b + x − 1 + shift) · ((α + T)/(α + tₓ))^(r + x), or 1 for a BG/NBD customer without repeat purchases.</summary>
    private double AliveDenominator(double x, double tx, double age)
    {
        if (!IsModified && x == 0)
        {
            return 1.0;
        }

        var shift = IsModified ? 1.0 : 0.0;
        return 1 + Math.Exp(Math.Log(A) - Math.Log(B + x - 1 + shift) + ((R + x) * (Math.Log(Alpha + age) - Math.Log(Alpha + tx))));
    }

    /// <inheritdoc />
    public void ProbabilityAlive(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        PredictionInputs.Batch(x, tx, age, result);
        PerCustomer(x, tx, age, result, static (_, _) => 1);
    }

    /// <summary>
    /// P(alive at T + t | x, tₓ, T): the probability that a customer with this history is still active <paramref name="t"/>
    /// time units from now. An active customer drops out only right after a purchase, so this is
    /// P(alive) · E[e^(−pλt)] over the posterior of (λ, p): P(alive) · ((α+T)/(α+T+t))^(r+x) ·
    /// ₂F₁(r + x, b + x; a + b + x; t/(α+T+t)) (b + x + 1 and a + b + x + 1 for MBG/NBD). It falls from P(alive) at t = 0
    /// towards 0.
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
        var alive = 1 / AliveDenominator(x, tx, age);
        if (t == 0)
        {
            return alive;
        }

        var shift = IsModified ? 1.0 : 0.0;
        var k = R + x;
        var q = B + x + shift;
        var y = t / (Alpha + age);
        var z = t / (Alpha + age + t);
        var survival = SeriesTerms(k, q, A + q, z) <= MaxSeriesTerms
            ? Math.Exp((-k * ClvQuadrature.LogOnePlus(y)) + LogHypergeometric2F1Value(k, q, A + q, z))
            : SurvivalByQuadrature(A, q, k, y);
        // E[e^(−pλt)] ≤ 1; the series' rounding can put it a few ulps above at tiny t.
        return alive * Math.Min(1, survival);
    }

    /// <summary>E[(1 + p y)^(−k)] for p ~ Beta(a, q), integrated over p; apart from the series so that only this path allocates its integrand's capture.</summary>
    private static double SurvivalByQuadrature(double a, double q, double k, double y)
        => ClvQuadrature.BetaExpectation(a, q, p => -k * ClvQuadrature.LogOnePlus(p * y));

    /// <summary>
    /// E[X(t)]: the expected number of repeat transactions in (0, t] for a new customer. Finite for every t and every
    /// positive (r, α, a, b), including a ≤ 1 and a + b &lt; 1; at t = +∞ it is the limit (a + b − 1)/(a − 1) (MBG/NBD:
    /// b/(a − 1)) when a &gt; 1 and +∞ when a ≤ 1.
    /// </summary>
    /// <param name="t">The horizon: at least 0, +∞ allowed.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="t"/> is negative or NaN.</exception>
    public double ExpectedTransactions(double t)
    {
        PredictionInputs.Horizon(t);
        if (t == 0)
        {
            return 0;
        }

        var shift = IsModified ? 1.0 : 0.0;
        if (double.IsPositiveInfinity(t))
        {
            return A > 1 ? (IsModified ? B : A + B - 1) / (A - 1) : double.PositiveInfinity;
        }

        // BG/NBD: E over p ~ Beta(a, b). MBG/NBD: b/(a + b) (alive after the first purchase) times E over p ~ Beta(a, b + 1).
        var growth = Growth(A, B + shift, R, t / Alpha);
        return IsModified ? growth * B / (A + B) : growth;
    }

    /// <summary>
    /// E[Y(t) | x, tₓ, T]: the expected number of transactions in the next t for a customer with this history. Finite for
    /// every finite t over the whole parameter space (a ≤ 1 and a + b &lt; 1 included); at t = +∞ it is
    /// P(alive) (a + b + x − 1)/(a − 1) (MBG/NBD: P(alive) (a + b + x)/(a − 1)) when a &gt; 1 and +∞ when a ≤ 1.
    /// </summary>
    /// <param name="t">The horizon: at least 0, +∞ allowed.</param>
    /// <param name="x">Repeat transactions: a whole number, at least 0.</param>
    /// <param name="tx">Recency, in [0, T]; 0 when x = 0.</param>
    /// <param name="age">Age T: finite, at least 0.</param>
    /// <returns>The expectation.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ConditionalExpectedTransactions(double t, double x, double tx, double age)
    {
        PredictionInputs.Horizon(t);
        PredictionInputs.History(x, tx, age);
        if (t == 0)
        {
            return 0;
        }

        return Combine(Numerator(t, x, age), AliveDenominator(x, tx, age));
    }

    /// <summary>numerator · P(alive): +∞ when the numerator is (an infinite horizon with a ≤ 1), even where P(alive) underflows to 0.</summary>
    private static double Combine(double numerator, double aliveDenominator)
        => double.IsPositiveInfinity(numerator) ? numerator : numerator / aliveDenominator;

    /// <summary>The numerator of E[Y(t) | x, tₓ, T]: E[(1 − e^(−pλt))/p] over the posterior of an active customer, λ ~ Gamma(r + x, α + T), p ~ Beta(a, b + x + shift).</summary>
    internal double Numerator(double t, double x, double age)
    {
        var shift = IsModified ? 1.0 : 0.0;
        if (double.IsPositiveInfinity(t))
        {
            return A > 1 ? (A + B + x - 1 + shift) / (A - 1) : double.PositiveInfinity;
        }

        return Growth(A, B + x + shift, R + x, t / (Alpha + age));
    }

    /// <summary>The ₂F₁ series above this many terms is replaced by a quadrature (which costs about as much as 2,000 terms).</summary>
    private const double MaxSeriesTerms = 20_000;

    /// <summary>
    /// E[(1 − (1 + p y)^(−k))/p] for p ~ Beta(a, q): the expected transactions of the BG/NBD family, in closed form
    /// c/(a − 1) · [1 − (1 + y)^(−k) ₂F₁(k, q; c; y/(1 + y))] with c = a + q − 1. It is finite for every a, q &gt; 0 and
    /// finite y, but the closed form breaks three times. For c ≤ 0 (BG/NBD with a + b ≤ 1 and no repeat purchase) the
    /// series of ₂F₁(k, q; c; z) does not exist as summed here; Gauss' contiguous relation gives
    /// c ₂F₁(k, q; c; z) = [(c − (2c + 1 − k − q) z) ₂F₁(k, q; c + 1; z) + (c + 1 − k)(c + 1 − q)/(c + 1) · z ₂F₁(k, q; c + 2; z)] / (1 − z),
    /// whose series have positive c + 1 and c + 2 and which stays finite through c = 0. At a = 1 the form is 0/0, and within
    /// 10⁻³ of it it loses digits; there the 0/0 is taken out of the series (<see cref="GrowthNearOne"/>). When the series
    /// would need more than 20,000 terms (very many repeat purchases, or a horizon far beyond α + T), the expectation is
    /// integrated over p directly (to about 10⁻¹³).
    /// </summary>
    internal static double Growth(double a, double q, double k, double y)
    {
        var z = y / (1 + y);
        var c = a + q - 1;
        var terms = c > 0 ? SeriesTerms(k, q, c, z) : SeriesTerms(k, q, c + 1, z);
        var nearOne = terms <= MaxSeriesTerms && Math.Abs(a - 1) < 1e-3 && c > 0 ? GrowthNearOne(a, q, k, y) : double.NaN;
        if (!double.IsNaN(nearOne))
        {
            return nearOne;
        }

        if (terms > MaxSeriesTerms || Math.Abs(a - 1) < 1e-3)
        {
            return GrowthByQuadrature(a, q, k, y);
        }

        // Rounding can leave a value of order 10⁻¹⁶ below 0 when the expectation itself is that small.
        return Math.Max(0, GrowthAwayFromOne(a, q - 1, k, q, z, -k * ClvQuadrature.LogOnePlus(y)));
    }

    /// <summary>
    /// <see cref="Growth"/> integrated over p. A method of its own because its integrand captures k and y, and a capture is
    /// allocated on entry to the method that declares it: inside <see cref="Growth"/> every call would allocate, not only the
    /// calls that integrate.
    /// </summary>
    private static double GrowthByQuadrature(double a, double q, double k, double y)
        => ClvQuadrature.BetaExpectation(a, q, p => Math.Log(-ExpMinusOne(-k * ClvQuadrature.LogOnePlus(p * y))) - Math.Log(p)); // log[(1 − (1 + p y)^(−k))/p], without cancellation for small p y.

    /// <summary>
    /// The closed form of <see cref="Growth"/> with its 0/0 at a = 1 divided out, exact for every a &gt; 0 with a + q &gt; 1, and used near a = 1.
    /// With c = a + q − 1 = q + ε (ε = a − 1) and (1 − z)^(−k) = Σ (k)ₙ zⁿ/n!, the bracket is
    /// 1 − (1 − z)^k ₂F₁(k, q; c; z) = (1 − z)^k Σₙ (k)ₙ zⁿ/n! · [1 − (q)ₙ/(c)ₙ], and the telescoping
    /// 1 − ρₙ = ε Σ_{j&lt;n} ρⱼ/(c + j) with ρⱼ = (q)ⱼ/(c)ⱼ cancels the ε of c/(a − 1) (z = y/(1 + y)):
    /// Growth = c (1 − z)^k Σ_{n≥1} (k)ₙ zⁿ/n! · Eₙ,  Eₙ = Σ_{j&lt;n} ρⱼ/(c + j).
    /// Every term is positive (no cancellation at any ε); ρⱼ/(c + j) falls with j when a &gt; 0, so E_{n+1} ≤ (1 + 1/n) Eₙ and
    /// past its largest term the series' tail is bounded by a geometric series of ratio (k + n) z/n. NaN when it has not
    /// met that bound within twice <see cref="MaxSeriesTerms"/> terms.
    /// </summary>
    internal static double GrowthNearOne(double a, double q, double k, double y)
    {
        var z = y / (1 + y);
        var c = a + q - 1;
        double term = 1, rho = 1, e = 0, sum = 0, scale = 0;
        for (var n = 1; n <= 2 * (int)MaxSeriesTerms; n++)
        {
            e += rho / (c + n - 1);
            rho *= (q + n - 1) / (c + n - 1);
            term *= (k + n - 1) * z / n;
            var u = term * e;
            sum += u;
            if (sum > 1e250)
            {
                var log = Math.Log(sum);
                scale += log;
                var f = Math.Exp(-log);
                sum *= f;
                term *= f;
            }

            var ratio = (k + n) * z / n;
            if (ratio < 1 && term * e * ratio <= 1e-17 * sum * (1 - ratio))
            {
                // c (1 − z)^k · sum, the power in logs (it underflows where the sum overflows).
                return c * Math.Exp(-(k * ClvQuadrature.LogOnePlus(y)) + scale + Math.Log(sum));
            }
        }

        return double.NaN;
    }

    private static double GrowthAwayFromOne(double a, double cMinusA, double p, double q, double z, double logLead)
    {
        var c = a + cMinusA;
        if (c > 0)
        {
            var f = LogHypergeometric2F1Value(p, q, c, z);
            return c / (a - 1) * -ExpMinusOne(logLead + f);
        }

        var f1 = LogHypergeometric2F1Value(p, q, c + 1, z);
        var f2 = LogHypergeometric2F1Value(p, q, c + 2, z);
        var m = Math.Max(f1, f2);
        var scaled = ((c - ((2 * c + 1 - p - q) * z)) * Math.Exp(f1 - m)) + ((c + 1 - p) * (c + 1 - q) / (c + 1) * z * Math.Exp(f2 - m));
        var cF = scaled * Math.Exp(logLead + m) / (1 - z);
        return (c - cF) / (a - 1);
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

        PerCustomer(x, tx, age, result, (xi, ti) => Numerator(t, xi, ti));
    }

    /// <summary>
    /// DERT: the discounted expected residual transactions of a customer with this history, Σ over their future
    /// transactions of e^(−δτ) at continuous discount rate δ per time unit (Fader, Hardie and Lee 2005's measure, here for
    /// the BG/NBD family). While active the customer buys at rate λ and drops out after each purchase with probability p,
    /// so the discounted count is λ/(δ + pλ); DERT is P(alive) times its expectation over the posterior
    /// λ ~ Gamma(r + x, α + T), p ~ Beta(a, b + x) (b + x + 1 for MBG/NBD), written as
    /// (r + x) ∫₀^∞ e^(−δ(α+T)u) E_p[(1 + p u)^(−(r+x+1))] du and integrated numerically (to about 10⁻¹²). δ = 0 gives
    /// E[Y(∞) | history], +∞ when a ≤ 1.
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
        if (discountRate == 0)
        {
            return Combine(Numerator(double.PositiveInfinity, x, age), AliveDenominator(x, tx, age));
        }

        return new DiscountGrid(this, discountRate, age).Value(x, age) / AliveDenominator(x, tx, age);
    }

    /// <inheritdoc />
    public void DiscountedExpectedTransactions(double discountRate, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result)
    {
        PredictionInputs.Batch(x, tx, age, result);
        PredictionInputs.DiscountRate(discountRate);
        if (discountRate == 0)
        {
            PerCustomer(x, tx, age, result, (xi, _) => Numerator(double.PositiveInfinity, xi, 0));
            return;
        }

        var minAge = double.PositiveInfinity;
        foreach (var a in age)
        {
            minAge = Math.Min(minAge, a);
        }

        var grid = new DiscountGrid(this, discountRate, x.Length == 0 ? 0 : minAge);
        PerCustomer(x, tx, age, result, grid.Value);
    }

    /// <summary>The numerator of DERT per (x, T) — DERT = numerator · P(alive) — for every T of at least <paramref name="minAge"/>; thread-safe, tables shared.</summary>
    internal Func<double, double, double> DiscountedNumerator(double delta, double minAge)
        => delta == 0 ? (x, _) => Numerator(double.PositiveInfinity, x, 0) : new DiscountGrid(this, delta, minAge).Value;

    /// <summary>
    /// (r + x) ∫₀^∞ e^(−cu) F_x(u) du with c = δ(α + T) and F_x(u) = E[(1 + p u)^(−(r+x+1))], p ~ Beta(a, b + x + shift):
    /// the trapezoid rule over v = ln u with step 1/8 (the integrand is analytic in a strip of half-width π/2, so the error
    /// is below e^(−π²·8)), on one grid for every T of a batch, with F_x computed once per x. F_x = ₂F₁(m, a; a + q; −u) is
    /// summed as a series in u/(1 + u) for small u and, from u = 4, by the connection formula's series in −1/u
    /// (<see cref="HypergeometricAtLargeArgument"/>; a few dozen terms where the series in u/(1 + u) needs about 40(1 + u)
    /// and beyond u ≈ 124 gave way to a quadrature over p), which stays in use unless m − a is within 0.02 of a whole number
    /// or its two parts cancel.
    /// </summary>
    private sealed class DiscountGrid
    {
        private const double Step = 0.125;
        private const double Lowest = -45;
        private readonly BgNbdModel _model;
        private readonly double _delta;
        private readonly int _count;
        private readonly ConcurrentDictionary<double, double[]> _f = new();

        // u e^(−cu) at the grid's nodes for each age T (c = δ(α + T)), cut where cu passes 80: a batch has far fewer ages than
        // (x, T) pairs, so the exponentials are taken once per age.
        private readonly ConcurrentDictionary<double, double[]> _weights = new();

        // The nodes u = e^(Lowest + j·Step), shared by every age and x of the grid.
        private readonly double[] _nodes;

        public DiscountGrid(BgNbdModel model, double delta, double minAge)
        {
            _model = model;
            _delta = delta;
            var highest = Math.Log(80 / (delta * (model.Alpha + minAge)));
            _count = (int)Math.Ceiling((Math.Max(highest, Lowest) - Lowest) / Step) + 2;
            _nodes = new double[_count];
            for (var j = 0; j < _count; j++)
            {
                _nodes[j] = Math.Exp(Lowest + (j * Step));
            }
        }

        public double Value(double x, double age)
        {
            var f = _f.GetOrAdd(x, Tabulate);
            var w = _weights.GetOrAdd(age, Weights);
            return (_model.R + x) * Dot(w, f) * Step;
        }

        /// <summary>Σ w[j]·f[j] over w's length, four products at a time where the hardware allows.</summary>
        private static double Dot(double[] w, double[] f)
        {
            var j = 0;
            var sum = 0.0;
            if (Vector256.IsHardwareAccelerated && w.Length >= 8)
            {
                var acc = Vector256<double>.Zero;
                for (; j + 4 <= w.Length; j += 4)
                {
                    acc += Vector256.LoadUnsafe(ref w[j]) * Vector256.LoadUnsafe(ref f[j]);
                }

                sum = Vector256.Sum(acc);
            }

            for (; j < w.Length; j++)
            {
                sum += w[j] * f[j];
            }

            return sum;
        }

        private double[] Weights(double age)
        {
            var c = _delta * (_model.Alpha + age);
            var count = 0;
            while (count < _count && c * _nodes[count] <= 80)
            {
                count++;
            }

            var w = new double[count];
            for (var j = 0; j < count; j++)
            {
                w[j] = _nodes[j] * Math.Exp(-c * _nodes[j]);
            }

            return w;
        }

        private double[] Tabulate(double x)
        {
            var shift = _model.IsModified ? 1.0 : 0.0;
            var m = _model.R + x + 1;
            double a = _model.A, q = _model.B + x + shift;
            var f = new double[_count];

            // E[p^i] for the series at small u: Π_{l<i} (a + l)/(a + q + l).
            var m1 = a / (a + q);
            var m2 = m1 * (a + 1) / (a + q + 1);
            var m3 = m2 * (a + 2) / (a + q + 2);
            var large = HypergeometricAtLargeArgument.Create(m, a, a + q);
            for (var j = 0; j < _count; j++)
            {
                var u = _nodes[j];
                if (u >= HypergeometricAtLargeArgument.From && large.TryValue(u, out var value))
                {
                    // Large u: the connection formula's series in −1/u (a few dozen terms).
                    f[j] = value;
                    continue;
                }

                var z = u / (1 + u);

                // F_x(u) = ₂F₁(m, a; a + q; −u) = (1 + u)^(−m) ₂F₁(m, q; a + q; u/(1 + u)) (Pfaff): a short series unless u is large.
                f[j] = m * u <= 1e-6
                    ? 1 - (m * u * m1) + (m * (m + 1) / 2 * u * u * m2) - (m * (m + 1) * (m + 2) / 6 * u * u * u * m3)
                    : SeriesTerms(m, q, a + q, z) <= 5_000
                        ? Math.Exp((-m * ClvQuadrature.LogOnePlus(u)) + LogHypergeometric2F1Value(m, q, a + q, z))
                        : ClvQuadrature.BetaExpectation(a, q, p => -m * ClvQuadrature.LogOnePlus(p * u));
            }

            return f;
        }
    }

    /// <summary>
    /// Per-customer predictions of the form numerator(x, T) · P(alive | x, tₓ, T): the numerator and most of P(alive) depend
    /// on (x, T) only, so the distinct pairs are found (each customer's position parked in its result slot), those parts
    /// computed once per pair (in parallel when there are many), and combined per customer.
    /// </summary>
    private void PerCustomer(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, Span<double> result, Func<double, double, double> numerator)
    {
        var shift = IsModified ? 1.0 : 0.0;
        var logA = Math.Log(A);
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
                        ((double*)aresult)[i] = BitConverter.Int64BitsToDouble(index.Position(((double*)ax)[i], ((double*)aage)[i]));
                    }
                });

                var pairs = found.All.Pairs;
                var numerators = new double[pairs.Count];
                var lead = new double[pairs.Count];
                void Compute(int k)
                {
                    var (xi, ti) = pairs[k];
                    numerators[k] = numerator(xi, ti);
                    lead[k] = IsModified || xi > 0 ? logA - Math.Log(B + xi - 1 + shift) + ((R + xi) * Math.Log(Alpha + ti)) : double.NaN;
                }

                found.ForEachPair(Compute);
                BatchPairs.ForEachChunk(n, (from, to) => found.Combine(from, to, (start, end, remap) =>
                {
                    for (var i = start; i < end; i++)
                    {
                        var at = (int)BitConverter.DoubleToInt64Bits(((double*)aresult)[i]);
                        if (remap is not null)
                        {
                            at = remap[at];
                        }

                        // P(alive) is 1 for a BG/NBD customer without repeat purchases (lead is NaN then).
                        var alive = double.IsNaN(lead[at]) ? 1 : 1 + Math.Exp(lead[at] - ((R + ((double*)ax)[i]) * Math.Log(Alpha + ((double*)atx)[i])));
                        ((double*)aresult)[i] = Combine(numerators[at], alive);
                    }
                }));
            }
        }
    }

    /// <summary>P(X(t) = n): the probability that a new customer makes exactly n repeat transactions in (0, t].</summary>
    /// <param name="n">The count, at least 0.</param>
    /// <param name="t">The horizon, at least 0 and finite.</param>
    /// <returns>The probability.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public double ProbabilityOfTransactions(int n, double t)
    {
        if (n < 0)
        {
            throw new EngagementValidationException("n", n, "must be at least 0");
        }

        if (!(t >= 0) || double.IsInfinity(t))
        {
            throw new EngagementValidationException("t", t, "must be a finite horizon, at least 0");
        }

        return Pmf(n, t, R, Alpha, A, B, IsModified ? 1 : 0);
    }

    /// <summary>
    /// P(Y(t) = n | x, tₓ, T): the probability that a customer with this history makes exactly n transactions in the next t.
    /// A customer who is no longer active makes none; an active one behaves like a new BG/NBD customer with the updated
    /// parameters (r + x, α + T, a, b + x) (b + x + 1 for MBG/NBD), so this is (1 − P(alive)) 1[n = 0] + P(alive) ·
    /// P(X(t) = n | updated).
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
        var alive = 1 / AliveDenominator(x, tx, age);
        var active = Pmf(n, t, R + x, Alpha + age, A, B + x + (IsModified ? 1 : 0), 0);
        return (n == 0 ? 1 - alive : 0) + (alive * active);
    }

    /// <summary>The BG/NBD (shift 0) or MBG/NBD (shift 1) probability of n transactions in (0, t] for a new customer with these parameters.</summary>
    private static double Pmf(int n, double t, double r, double alpha, double a, double b, double shift)
    {
        var lbAb = LogBeta(a, b);
        var logAt = -ClvQuadrature.LogOnePlus(t / alpha);
        var logTt = t > 0 ? Math.Log(t / (alpha + t)) : double.NegativeInfinity;
        var lgR = LogGamma(r);
        var first = Math.Exp(LogBeta(a, b + n + shift) - lbAb + LogGamma(r + n) - lgR - LogGamma(n + 1) + (r * logAt) + (n == 0 ? 0 : n * logTt));
        if (n == 0 && shift == 0)
        {
            return first;
        }

        // 1 − Σ_{j<n} NB(j) = P(NB ≥ n), clamped at 0 against rounding.
        var sum = 0.0;
        for (var j = 0; j < n; j++)
        {
            sum += Math.Exp(LogGamma(r + j) - lgR - LogGamma(j + 1) + (r * logAt) + (j == 0 ? 0 : j * logTt));
        }

        return first + (Math.Exp(LogBeta(a + 1, b + n - 1 + shift) - lbAb) * Math.Max(0, 1 - sum));
    }

    /// <summary>Simulates customers from the model: each is observed from their first purchase for an age T drawn uniformly from [<paramref name="minAge"/>, <paramref name="maxAge"/>].</summary>
    /// <param name="customers">How many.</param>
    /// <param name="minAge">The shortest observation.</param>
    /// <param name="maxAge">The longest observation.</param>
    /// <param name="seed">The random seed.</param>
    /// <param name="roundToWholeUnits">Whether purchase times are rounded down to whole time units (days), merging same-unit purchases.</param>
    /// <returns>The simulated data.</returns>
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
        var p = RandomVariates.Beta(random, A, B);
        var alive = !IsModified || random.NextDouble() >= p;
        double time = 0, last = 0, lastUnit = 0;
        var x = 0;
        while (alive)
        {
            time += RandomVariates.Exponential(random, lambda);
            if (time > age)
            {
                break;
            }

            var unit = roundToWholeUnits ? Math.Floor(time) : time;
            if (!roundToWholeUnits || unit > lastUnit)
            {
                x++;
                last = unit;
                lastUnit = unit;
            }

            alive = random.NextDouble() >= p;
        }

        return (x, x == 0 ? 0 : last);
    }

    /// <summary>
    /// Simulates a shop's transaction log from the model and a spend model: customers make their first purchase on a day
    /// drawn uniformly from the first <paramref name="acquisitionDays"/> days after <paramref name="start"/>, then buy in
    /// continuous time (λ per time unit of <paramref name="unit"/>) until they drop out; purchases are dated to the day and
    /// valued from the spend model. Used by samples and benchmarks that need realistic data without a file.
    /// </summary>
    /// <param name="customers">How many customers.</param>
    /// <param name="start">The first day.</param>
    /// <param name="end">The last day (inclusive).</param>
    /// <param name="acquisitionDays">Over how many days first purchases are spread.</param>
    /// <param name="spend">The spend model.</param>
    /// <param name="unit">The time unit the parameters are in.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The transactions, ordered by day.</returns>
    public IReadOnlyList<Transaction> SimulateTransactions(int customers, DateOnly start, DateOnly end, int acquisitionDays, GammaGammaModel spend, TimeUnit unit, int seed)
    {
        ArgumentNullException.ThrowIfNull(spend);
        if (customers < 1 || end < start || acquisitionDays < 1)
        {
            throw new EngagementValidationException("customers", customers, "needs at least one customer, an end not before the start and at least one acquisition day");
        }

        var random = new Random(seed);
        var daysPerUnit = unit == TimeUnit.Weeks ? 7.0 : 1.0;
        var list = new List<Transaction>();
        var span = end.DayNumber - start.DayNumber;
        for (var i = 0; i < customers; i++)
        {
            var id = "c" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
            var firstDay = random.Next(Math.Min(acquisitionDays, span + 1));
            var lambda = RandomVariates.Gamma(random, R) / Alpha;
            var p = RandomVariates.Beta(random, A, B);
            var nu = RandomVariates.Gamma(random, spend.Q) / spend.Gamma;
            decimal Amount() => decimal.Round((decimal)(RandomVariates.Gamma(random, spend.P) / nu), 2);
            list.Add(new Transaction(id, start.AddDays(firstDay), Amount()));
            var alive = !IsModified || random.NextDouble() >= p;
            var time = firstDay / daysPerUnit;
            while (alive)
            {
                time += RandomVariates.Exponential(random, lambda);
                var day = (int)Math.Floor(time * daysPerUnit);
                if (day > span)
                {
                    break;
                }

                list.Add(new Transaction(id, start.AddDays(day), Amount()));
                alive = random.NextDouble() >= p;
            }
        }

        list.Sort(static (x, y) => x.Date.CompareTo(y.Date));
        return list;
    }
}

/// <summary>Random variates for the simulators.</summary>
internal static class RandomVariates
{
    /// <summary>Gamma(shape, rate 1) by Marsaglia and Tsang, with the boost for shape &lt; 1.</summary>
    public static double Gamma(Random random, double shape)
    {
        if (shape < 1)
        {
            return Gamma(random, shape + 1) * Math.Pow(random.NextDouble(), 1 / shape);
        }

        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    public static double Beta(Random random, double a, double b)
    {
        var x = Gamma(random, a);
        var y = Gamma(random, b);
        return x / (x + y);
    }

    public static double Exponential(Random random, double rate) => -Math.Log(1 - random.NextDouble()) / rate;

    public static double Normal(Random random)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
