using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>How <see cref="ThompsonSamplingPolicy"/> computes the probability of its choice.</summary>
public enum ChoiceProbabilityMode
{
    /// <summary>Exactly when the choice has at most <see cref="ThompsonSamplingOptions.ExactCompetitorLimit"/> random competitors that can beat it, otherwise by Monte Carlo.</summary>
    Auto,

    /// <summary>Always exactly (closed form or quadrature), however many competitors: costs grow with their number.</summary>
    Exact,

    /// <summary>Always by Monte Carlo with <see cref="ThompsonSamplingOptions.MonteCarloDraws"/> draws, except where a closed form exists.</summary>
    MonteCarlo,
}

/// <summary>Options of <see cref="ThompsonSamplingPolicy"/>.</summary>
public sealed class ThompsonSamplingOptions
{
    /// <summary>
    /// The exploration floor ε: with probability ε the arm is drawn uniformly among the K candidates, otherwise by Thompson
    /// sampling, so every candidate is chosen with probability at least ε / K and importance weights stay below K / ε.
    /// </summary>
    /// <value>Defaults to 0.05; in [0, 1).</value>
    public double Floor { get; init; } = 0.05;

    /// <summary>How the choice probability is computed.</summary>
    /// <value>Defaults to <see cref="ChoiceProbabilityMode.Auto"/>.</value>
    public ChoiceProbabilityMode ProbabilityMode { get; init; } = ChoiceProbabilityMode.Auto;

    /// <summary>The number of draws of a Monte Carlo estimate; its standard error is at most 0.5 / √draws.</summary>
    /// <value>Defaults to 2,000 (standard error at most 0.011); at least 100.</value>
    public int MonteCarloDraws { get; init; } = 2_000;

    /// <summary>The largest number of random competitors for which <see cref="ChoiceProbabilityMode.Auto"/> integrates exactly.</summary>
    /// <value>Defaults to 4; at least 0.</value>
    public int ExactCompetitorLimit { get; init; } = 4;

    /// <summary>Whether to compute the choice probability at all; without it the choice carries probability NaN (for simulations that need no logging).</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool ComputeProbability { get; init; } = true;

    /// <summary>Checks the options.</summary>
    /// <exception cref="EngagementValidationException">An option is out of range.</exception>
    public void Validate()
    {
        if (!(Floor >= 0 && Floor < 1))
        {
            throw new EngagementValidationException(nameof(Floor), Floor, "must be in [0, 1)");
        }

        if (!Enum.IsDefined(ProbabilityMode))
        {
            throw new EngagementValidationException(nameof(ProbabilityMode), ProbabilityMode, "must be Auto, Exact or MonteCarlo");
        }

        if (MonteCarloDraws < 100)
        {
            throw new EngagementValidationException(nameof(MonteCarloDraws), MonteCarloDraws, "must be at least 100");
        }

        if (ExactCompetitorLimit < 0)
        {
            throw new EngagementValidationException(nameof(ExactCompetitorLimit), ExactCompetitorLimit, "must be at least 0");
        }
    }
}

/// <summary>
/// Thompson sampling with an exploration floor: with probability ε (<see cref="ThompsonSamplingOptions.Floor"/>) a uniformly
/// random candidate, otherwise the candidate whose score is highest when every θ is drawn from its belief (ties to the lowest
/// index). The probability of the choice is π(k) = ε / K + (1 − ε) · P(k has the highest drawn score), computed exactly where
/// possible (closed form; otherwise adaptive Gauss–Kronrod quadrature of ∫ f_k(θ) Π_j F_j(θ_j &lt; score) dθ) or by Monte
/// Carlo with its standard error. When every random candidate carries a <see cref="ArmBelief.Samples"/> bank of the same size
/// M, the draw takes one index m uniformly and θ_j = the m-th sample of each bank; the probability is then counted over the M
/// indices (<see cref="ChoiceProbabilityMethod.SampleBank"/>): exact for this policy, O(M · K), whatever the options'
/// <see cref="ThompsonSamplingOptions.ProbabilityMode"/>. Deterministic for a generator state; allocates nothing; thread-safe
/// (it holds no state).
/// </summary>
public sealed class ThompsonSamplingPolicy : IBanditPolicy
{
    private const double QuadratureTolerance = 1e-9;
    private const int MaxIntervals = 512;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The options; the defaults when <see langword="null"/>.</param>
    /// <exception cref="EngagementValidationException">The options are out of range.</exception>
    public ThompsonSamplingPolicy(ThompsonSamplingOptions? options = null)
    {
        Options = options ?? new ThompsonSamplingOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public ThompsonSamplingOptions Options { get; }

    /// <inheritdoc />
    public BanditChoice Choose(ReadOnlySpan<ArmBelief> arms, ref BanditRandom random)
    {
        BanditArms.CheckNotEmpty(arms);
        var bankSize = SampleBanks.CommonSize(arms);
        var explored = random.NextDouble() < Options.Floor;
        int chosen;
        if (explored)
        {
            chosen = random.NextInt(arms.Length);
        }
        else if (bankSize > 0)
        {
            chosen = SampleBanks.WinnerAt(arms, random.NextInt(bankSize));
        }
        else
        {
            chosen = 0;
            var best = double.NegativeInfinity;
            for (var i = 0; i < arms.Length; i++)
            {
                var arm = arms[i];
                var score = arm.IsFixed ? arm.Offset : (arm.Scale * arm.Posterior.Sample(ref random)) + arm.Offset;
                if (score > best)
                {
                    best = score;
                    chosen = i;
                }
            }
        }

        if (!Options.ComputeProbability)
        {
            return new BanditChoice(chosen, new ChoiceProbability(double.NaN, double.NaN, ChoiceProbabilityMethod.MonteCarlo), explored);
        }

        if (bankSize > 0)
        {
            return new BanditChoice(chosen, BankProbability(arms, chosen, bankSize), explored);
        }

        var side = random.Fork();
        return new BanditChoice(chosen, ProbabilityOf(arms, chosen, ref side), explored);
    }

    /// <inheritdoc />
    public ChoiceProbability ProbabilityOf(ReadOnlySpan<ArmBelief> arms, int index, ref BanditRandom random)
    {
        BanditArms.CheckIndex(arms, index);
        var bankSize = SampleBanks.CommonSize(arms);
        if (bankSize > 0)
        {
            return BankProbability(arms, index, bankSize);
        }

        var k = arms.Length;
        var floor = Options.Floor;
        var win = WinProbability(arms, index, Options.ProbabilityMode, Options.MonteCarloDraws, Options.ExactCompetitorLimit, ref random);
        return win with { Value = (floor / k) + ((1 - floor) * win.Value), Error = (1 - floor) * win.Error };
    }

    // π(c) = ε / K + (1 − ε) · wins / M over the banks: exact for the policy that draws from them. The error is the binomial
    // standard error of wins / M as an estimate of the win probability under the banks' posteriors.
    private ChoiceProbability BankProbability(ReadOnlySpan<ArmBelief> arms, int c, int size)
    {
        var floor = Options.Floor;
        var wins = SampleBanks.Wins(arms, c);
        var smoothed = (wins + 0.5) / (size + 1.0);
        return new ChoiceProbability(
            (floor / arms.Length) + ((1 - floor) * wins / size),
            (1 - floor) * Math.Sqrt(smoothed * (1 - smoothed) / size),
            ChoiceProbabilityMethod.SampleBank);
    }

    /// <summary>P(arm <paramref name="c"/> has the highest drawn score), ties to the lowest index.</summary>
    internal static ChoiceProbability WinProbability(ReadOnlySpan<ArmBelief> arms, int c, ChoiceProbabilityMode mode, int draws, int exactLimit, ref BanditRandom random)
    {
        if (arms.Length == 1)
        {
            return ChoiceProbability.ExactValue(1);
        }

        var me = arms[c];
        if (me.IsFixed)
        {
            var s = me.Offset;
            var product = 1.0;
            for (var j = 0; j < arms.Length; j++)
            {
                if (j == c)
                {
                    continue;
                }

                var other = arms[j];
                if (other.IsFixed)
                {
                    if (other.Offset > s || (other.Offset == s && j < c))
                    {
                        return ChoiceProbability.ExactValue(0);
                    }
                }
                else
                {
                    product *= other.Posterior.Cdf((s - other.Offset) / other.Scale);
                }
            }

            return ChoiceProbability.ExactValue(product);
        }

        // θ must lift the score above every fixed competitor: θ > t.
        var t = 0.0;
        for (var j = 0; j < arms.Length; j++)
        {
            if (j != c && arms[j].IsFixed)
            {
                t = Math.Max(t, (arms[j].Offset - me.Offset) / me.Scale);
            }
        }

        if (t >= 1)
        {
            return ChoiceProbability.ExactValue(0);
        }

        // Random competitors that can beat some winning score of c; none can if its best score is below c's lowest winning one.
        var lowestWinning = (me.Scale * t) + me.Offset;
        var highest = me.Scale + me.Offset;
        var competitors = 0;
        for (var j = 0; j < arms.Length; j++)
        {
            var other = arms[j];
            if (j == c || other.IsFixed)
            {
                continue;
            }

            if (other.Offset >= highest)
            {
                return ChoiceProbability.ExactValue(0);
            }

            if (other.Scale + other.Offset > lowestWinning)
            {
                competitors++;
            }
        }

        if (competitors == 0)
        {
            return ChoiceProbability.ExactValue(1 - me.Posterior.Cdf(t));
        }

        var exact = mode == ChoiceProbabilityMode.Exact || (mode == ChoiceProbabilityMode.Auto && competitors <= exactLimit);
        return exact ? Integrate(arms, c, t, lowestWinning) : MonteCarlo(arms, c, t, lowestWinning, draws, ref random);
    }

    private static ChoiceProbability MonteCarlo(ReadOnlySpan<ArmBelief> arms, int c, double t, double lowestWinning, int draws, ref BanditRandom random)
    {
        var me = arms[c];
        var wins = 0;
        for (var m = 0; m < draws; m++)
        {
            var theta = me.Posterior.Sample(ref random);
            if (theta <= t)
            {
                continue;
            }

            var score = (me.Scale * theta) + me.Offset;
            var won = true;
            for (var j = 0; j < arms.Length && won; j++)
            {
                var other = arms[j];
                if (j == c || other.IsFixed || other.Scale + other.Offset <= lowestWinning)
                {
                    continue;
                }

                var otherScore = (other.Scale * other.Posterior.Sample(ref random)) + other.Offset;
                won = j < c ? score > otherScore : score >= otherScore;
            }

            if (won)
            {
                wins++;
            }
        }

        var p = (double)wins / draws;
        var smoothed = (wins + 0.5) / (draws + 1.0);
        return new ChoiceProbability(p, Math.Sqrt(smoothed * (1 - smoothed) / draws), ChoiceProbabilityMethod.MonteCarlo);
    }

    private static ChoiceProbability Integrate(ReadOnlySpan<ArmBelief> arms, int c, double t, double lowestWinning)
    {
        var me = arms[c];
        var alpha = me.Posterior.Alpha;
        var beta = me.Posterior.Beta;
        var logB = SpecialFunctions.LogBeta(alpha, beta);
        var mean = me.Posterior.Mean;
        var sd = Math.Sqrt(me.Posterior.Variance);

        // Break points where the integrand changes shape: around c's own mass and around each competitor's step.
        Span<double> points = stackalloc double[128];
        var count = 0;
        points[count++] = t;
        points[count++] = 1;
        ReadOnlySpan<double> own = [0, -1, 1, -2, 2, -4, 4, -8, 8, -16, 16, -32, 32];
        foreach (var z in own)
        {
            Add(points, ref count, mean + (z * sd), t);
        }

        ReadOnlySpan<double> step = [0, -2, 2];
        for (var j = 0; j < arms.Length && count < points.Length - step.Length; j++)
        {
            var other = arms[j];
            if (j == c || other.IsFixed || other.Scale + other.Offset <= lowestWinning)
            {
                continue;
            }

            var centre = ((other.Scale * other.Posterior.Mean) + other.Offset - me.Offset) / me.Scale;
            var width = other.Scale * Math.Sqrt(other.Posterior.Variance) / me.Scale;
            foreach (var z in step)
            {
                Add(points, ref count, centre + (z * width), t);
            }
        }

        var sorted = points[..count];
        sorted.Sort();

        // Adaptive Gauss–Kronrod (7, 15) over each piece, bisecting until the piece meets its share of the tolerance. A piece that
        // touches 0 (when α < 1) or 1 (when β < 1), where the density is infinite, is integrated after a change of variable that
        // removes the singularity: θ = b·u^(1/α), or 1 − θ = (1 − a)·u^(1/β).
        var shape = new Shape(alpha, beta, logB);
        Span<double> logBetas = arms.Length <= 256 ? stackalloc double[arms.Length] : new double[arms.Length];
        for (var j = 0; j < arms.Length; j++)
        {
            logBetas[j] = arms[j].IsFixed ? 0 : SpecialFunctions.LogBeta(arms[j].Posterior.Alpha, arms[j].Posterior.Beta);
        }

        Span<Piece> stack = stackalloc Piece[64];
        var total = 0.0;
        var error = 0.0;
        var span = 1 - t;
        var intervals = 0;
        for (var p = 0; p + 1 < sorted.Length; p++)
        {
            var (lo, hi) = (sorted[p], sorted[p + 1]);
            if (hi <= lo)
            {
                continue;
            }

            var top = 0;
            var share = QuadratureTolerance * (hi - lo) / span;
            stack[top++] = lo == 0 && alpha < 1 ? new Piece(0, 1, 0, Mapping.FromZero, hi, share)
                : hi == 1 && beta < 1 ? new Piece(0, 1, 0, Mapping.FromOne, 1 - lo, share)
                : new Piece(lo, hi, 0, Mapping.Identity, 0, share);
            while (top > 0)
            {
                var piece = stack[--top];
                intervals++;
                var (value, err) = Kronrod(arms, logBetas, c, shape, piece);
                if (err <= piece.Allowed || piece.Depth >= 48 || top >= stack.Length - 2 || intervals > MaxIntervals)
                {
                    total += value;
                    error += err;
                    continue;
                }

                var mid = 0.5 * (piece.A + piece.B);
                stack[top++] = piece with { A = mid, Depth = piece.Depth + 1, Allowed = piece.Allowed / 2 };
                stack[top++] = piece with { B = mid, Depth = piece.Depth + 1, Allowed = piece.Allowed / 2 };
            }
        }

        return new ChoiceProbability(Math.Clamp(total, 0, 1), error, ChoiceProbabilityMethod.Exact);

        static void Add(Span<double> points, ref int count, double x, double t)
        {
            if (x > t && x < 1 && count < points.Length)
            {
                points[count++] = x;
            }
        }
    }

    // Gauss–Kronrod 15-point nodes on [−1, 1] (positive half) with their Kronrod weights, and the 7-point Gauss weights of the odd nodes.
    private static ReadOnlySpan<double> KronrodNodes =>
    [
        0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926,
        0.741531185599394439863864773280788, 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
        0.207784955007898467600689403773245, 0.0,
    ];

    private static ReadOnlySpan<double> KronrodWeights =>
    [
        0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
        0.140653259715525918745189590510238, 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
        0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
    ];

    private static ReadOnlySpan<double> GaussWeights =>
    [
        0.129484966168869693270611432679082, 0.279705391489276667901467771423780, 0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ];

    /// <summary>The (15-point, |15-point − 7-point|) estimates of the integral over one piece.</summary>
    private static (double Value, double Error) Kronrod(ReadOnlySpan<ArmBelief> arms, ReadOnlySpan<double> logBetas, int c, in Shape shape, in Piece piece)
    {
        var centre = 0.5 * (piece.A + piece.B);
        var half = 0.5 * (piece.B - piece.A);
        var nodes = KronrodNodes;
        var kw = KronrodWeights;
        var gw = GaussWeights;
        var fc = Integrand(arms, logBetas, c, shape, piece, centre);
        var kronrod = fc * kw[7];
        var gauss = fc * gw[3];
        for (var i = 0; i < 7; i++)
        {
            var dx = half * nodes[i];
            var sum = Integrand(arms, logBetas, c, shape, piece, centre - dx) + Integrand(arms, logBetas, c, shape, piece, centre + dx);
            kronrod += kw[i] * sum;
            if ((i & 1) == 1)
            {
                gauss += gw[i >> 1] * sum;
            }
        }

        kronrod *= half;
        gauss *= half;
        return (kronrod, Math.Abs(kronrod - gauss));
    }

    /// <summary>
    /// The integrand at <paramref name="x"/>: density of arm c at θ (times the Jacobian of the piece's change of variable) ×
    /// P(every random competitor scores below c's score at θ).
    /// </summary>
    private static double Integrand(ReadOnlySpan<ArmBelief> arms, ReadOnlySpan<double> logBetas, int c, in Shape shape, in Piece piece, double x)
    {
        double theta, logWeight;
        switch (piece.Map)
        {
            case Mapping.FromZero:
                theta = piece.Edge * Math.Pow(x, 1 / shape.Alpha);
                logWeight = (shape.Alpha * Math.Log(piece.Edge)) - Math.Log(shape.Alpha) + ((shape.Beta - 1) * Math.Log(1 - theta)) - shape.LogB;
                break;
            case Mapping.FromOne:
                var distance = piece.Edge * Math.Pow(x, 1 / shape.Beta);
                theta = 1 - distance;
                logWeight = (shape.Beta * Math.Log(piece.Edge)) - Math.Log(shape.Beta) + ((shape.Alpha - 1) * Math.Log(theta)) - shape.LogB;
                break;
            default:
                theta = x;
                if (theta <= 0 || theta >= 1)
                {
                    return 0;
                }

                logWeight = ((shape.Alpha - 1) * Math.Log(theta)) + ((shape.Beta - 1) * Math.Log(1 - theta)) - shape.LogB;
                break;
        }

        var product = Math.Exp(logWeight);
        if (!(product > 0))
        {
            return 0;
        }

        var me = arms[c];
        var score = (me.Scale * theta) + me.Offset;
        for (var j = 0; j < arms.Length && product > 0; j++)
        {
            var other = arms[j];
            if (j == c || other.IsFixed)
            {
                continue;
            }

            var y = (score - other.Offset) / other.Scale;
            if (y < 1)
            {
                product *= BetaMath.RegularizedIncompleteBeta(other.Posterior.Alpha, other.Posterior.Beta, logBetas[j], y);
            }
        }

        return product;
    }

    private enum Mapping
    {
        Identity,
        FromZero,
        FromOne,
    }

    private readonly record struct Shape(double Alpha, double Beta, double LogB);

    private readonly record struct Piece(double A, double B, int Depth, Mapping Map, double Edge, double Allowed);
}
