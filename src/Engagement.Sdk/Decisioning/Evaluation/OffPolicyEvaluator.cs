using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Decisioning.Evaluation;

/// <summary>The names of the off-policy estimators.</summary>
public static class OffPolicyEstimators
{
    /// <summary>Inverse propensity weighting: mean(w · r), with w = π_e(a | x) / π_0(a | x).</summary>
    public const string Ipw = "ipw";

    /// <summary>Self-normalised inverse propensity weighting: Σ w · r / Σ w.</summary>
    public const string Snipw = "snipw";

    /// <summary>The direct method: mean over rounds of Σ_a π_e(a | x) · q̂(x, a).</summary>
    public const string Dm = "dm";

    /// <summary>Doubly robust: the direct method plus mean(w · (r − q̂(x, a))).</summary>
    public const string Dr = "dr";

    /// <summary>Switch doubly robust: doubly robust on rounds with w ≤ τ, the direct method alone on rounds with larger weights.</summary>
    public const string SwitchDr = "switch-dr";
}

/// <summary>Options of <see cref="OffPolicyEvaluator"/>.</summary>
public sealed class OffPolicyEvaluationOptions
{
    /// <summary>The number of bootstrap resamples for the confidence intervals (0: no intervals, only point estimates).</summary>
    /// <value>Defaults to 1,000; in [0, 100,000].</value>
    public int BootstrapResamples { get; init; } = 1_000;

    /// <summary>The seed of the bootstrap: the same seed gives the same intervals, whatever the number of threads.</summary>
    /// <value>Defaults to 0.</value>
    public ulong Seed { get; init; }

    /// <summary>The confidence level of the intervals.</summary>
    /// <value>Defaults to 0.95; in (0, 1).</value>
    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>The importance weight τ above which Switch-DR uses the direct method alone.</summary>
    /// <value>Defaults to 100; positive. With an exploration floor ε over K arms no weight exceeds K / ε.</value>
    public double SwitchThreshold { get; init; } = 100;

    /// <summary>The pseudo-observations of the default <see cref="TabularRewardModel"/>.</summary>
    /// <value>Defaults to 20; at least 0.</value>
    public double RewardModelShrinkage { get; init; } = 20;

    /// <summary>How many threads the bootstrap may use; -1 for as many as there are cores.</summary>
    /// <value>Defaults to -1.</value>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>Checks the options.</summary>
    /// <exception cref="EngagementValidationException">An option is out of range.</exception>
    public void Validate()
    {
        if (BootstrapResamples is < 0 or > 100_000)
        {
            throw new EngagementValidationException(nameof(BootstrapResamples), BootstrapResamples, "must be in [0, 100000]");
        }

        if (!(ConfidenceLevel > 0 && ConfidenceLevel < 1))
        {
            throw new EngagementValidationException(nameof(ConfidenceLevel), ConfidenceLevel, "must be in (0, 1)");
        }

        if (!(SwitchThreshold > 0))
        {
            throw new EngagementValidationException(nameof(SwitchThreshold), SwitchThreshold, "must be positive");
        }

        if (!(RewardModelShrinkage >= 0) || double.IsInfinity(RewardModelShrinkage))
        {
            throw new EngagementValidationException(nameof(RewardModelShrinkage), RewardModelShrinkage, "must be at least 0 and finite");
        }

        if (MaxDegreeOfParallelism is 0 or < -1)
        {
            throw new EngagementValidationException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "must be positive, or -1 for every core");
        }
    }
}

/// <summary>One estimate of a policy's value.</summary>
/// <param name="Name">The estimator, from <see cref="OffPolicyEstimators"/>.</param>
/// <param name="Value">The estimated mean reward of the evaluation policy.</param>
/// <param name="StandardError">
/// The standard error: for IPW, SNIPW (delta method) and DR the normal approximation over the rounds (the reward model taken as
/// fixed); for DM and Switch-DR, whose spread comes mostly from the reward model, the standard deviation of the bootstrap
/// estimates (NaN without resamples).
/// </param>
/// <param name="CiLow">The lower end of the bootstrap percentile interval (NaN without resamples).</param>
/// <param name="CiHigh">The upper end of the bootstrap percentile interval (NaN without resamples).</param>
public sealed record PolicyEstimate(string Name, double Value, double StandardError, double CiLow, double CiHigh)
{
    /// <summary>Shows the estimate and its interval.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Name}: {Value:0.######} (SE {StandardError:0.######}) [{CiLow:0.######}, {CiHigh:0.######}]");
}

/// <summary>The off-policy evaluation of a policy on a log.</summary>
/// <param name="Rounds">The number of logged rounds.</param>
/// <param name="OnPolicyMeanReward">The logging policy's own mean reward in the log.</param>
/// <param name="EffectiveSampleSize">(Σ w)² / Σ w²: how many rounds the weighted log is worth.</param>
/// <param name="MaxWeight">The largest importance weight.</param>
/// <param name="MeanWeight">The mean importance weight (near 1 when the log's propensities are right and the policies overlap).</param>
/// <param name="BootstrapResamples">The number of bootstrap resamples behind the intervals.</param>
/// <param name="ConfidenceLevel">The intervals' confidence level.</param>
/// <param name="Estimates">The estimates: IPW, SNIPW, DM, DR and Switch-DR, in this order.</param>
public sealed record OffPolicyEvaluation(int Rounds, double OnPolicyMeanReward, double EffectiveSampleSize, double MaxWeight, double MeanWeight, int BootstrapResamples, double ConfidenceLevel, ImmutableArray<PolicyEstimate> Estimates)
{
    /// <summary>Whether the effective sample size is at least 1 % of the rounds; below it the estimates rest on a handful of rounds and should not be trusted.</summary>
    public bool IsReliable => EffectiveSampleSize >= 0.01 * Rounds;

    /// <summary>The estimate of the estimator named <paramref name="name"/>.</summary>
    /// <param name="name">A name from <see cref="OffPolicyEstimators"/>.</param>
    /// <returns>The estimate.</returns>
    /// <exception cref="KeyNotFoundException">No estimate has that name.</exception>
    public PolicyEstimate this[string name]
    {
        get
        {
            foreach (var e in Estimates)
            {
                if (e.Name == name)
                {
                    return e;
                }
            }

            throw new KeyNotFoundException($"No estimator named '{name}'.");
        }
    }
}

/// <summary>
/// Estimates, from a log of decisions taken by one policy, the mean reward another policy would have earned: IPW, SNIPW, the
/// direct method, doubly robust and Switch-DR, with the effective sample size and bootstrap percentile intervals.
/// <para>
/// Rounds with the same context, arm, logged propensity and reward contribute identically to every estimator, so they are
/// merged into cells first. The bootstrap is a Poisson bootstrap: each round is drawn Poisson(1) times (by a table exact to 2^-17 in
/// each probability), so a cell of m rounds is drawn Poisson(m) times (the same distribution), each resample from its own seeded stream; resamples are spread over
/// the cores and the intervals do not depend on the number of threads. Each resample keeps, per context × arm, its rounds,
/// responses and weights, so the default reward model is fitted again in every resample and the DM and DR intervals include
/// the model's own uncertainty; a reward model passed in by the caller is held fixed.
/// </para>
/// </summary>
public static class OffPolicyEvaluator
{
    private const int Estimators = 5;
    private const int GroupSums = 4;
    private const int BlockSize = 4096;
    private const long BatchDoubles = 4_000_000;
    private static readonly byte[] PoissonOneTable = BuildPoissonOneTable();

    /// <summary>Evaluates <paramref name="policy"/> on <paramref name="log"/>.</summary>
    /// <param name="log">The logged decisions, at least one.</param>
    /// <param name="policy">The policy to evaluate; it must cover every context of the log.</param>
    /// <param name="rewardModel">
    /// The reward model of DM, DR and Switch-DR, held fixed in the bootstrap; when <see langword="null"/>, a
    /// <see cref="TabularRewardModel"/> fitted on the log (and again on every resample).
    /// </param>
    /// <param name="options">The options; the defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the bootstrap.</param>
    /// <returns>The evaluation.</returns>
    /// <exception cref="EngagementValidationException">The log is empty, the policy misses a logged context, or an option is out of range.</exception>
    public static OffPolicyEvaluation Evaluate(DecisionLog log, EvaluationPolicy policy, IRewardModel? rewardModel = null, OffPolicyEvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new OffPolicyEvaluationOptions();
        options.Validate();
        if (log.Count == 0)
        {
            throw new EngagementValidationException(nameof(log), 0, "must hold at least one round");
        }

        var model = new Model(log, policy, rewardModel, options);
        var cells = Aggregate(log, model, options.SwitchThreshold);

        // Point estimates from the whole log's group sums: the same arithmetic as every resample.
        var sums = new double[model.Groups * GroupSums];
        double weightedResponses = 0, weightedResponsesBelow = 0, sW2 = 0, maxW = 0, sW = 0;
        for (var k = 0; k < cells.Count; k++)
        {
            var m = cells.Counts[k];
            var w = cells.Weight[k];
            Add(sums, cells.Group[k], m, w, cells.Reward[k], cells.Below[k], ref weightedResponses, ref weightedResponsesBelow);
            sW += m * w;
            sW2 += m * w * w;
            maxW = Math.Max(maxW, w);
        }

        var values = new double[Estimators];
        var q = new double[model.Groups];
        var v = new double[model.Contexts];
        model.Estimate(sums, weightedResponses, weightedResponsesBelow, q, v, values);

        // Normal-approximation standard errors of the per-round terms (the reward model taken as fixed).
        var n = (double)log.Count;
        double vIpw = 0, vSn = 0, vDr = 0;
        for (var k = 0; k < cells.Count; k++)
        {
            var m = cells.Counts[k];
            var w = cells.Weight[k];
            double r = cells.Reward[k];
            var g = cells.Group[k];
            var direct = v[g / model.Arms];
            var dr = direct + (w * (r - q[g]));
            vIpw += m * Square((w * r) - values[0]);
            vSn += m * Square((w * r) - (values[1] * w));
            vDr += m * Square(dr - values[3]);
        }

        var meanW = sW / n;
        var errors = log.Count == 1
            ? [double.NaN, double.NaN, double.NaN, double.NaN, double.NaN]
            : new[] { Se(vIpw), sW > 0 ? Se(vSn) / meanW : double.NaN, double.NaN, Se(vDr), double.NaN };

        var low = new double[Estimators];
        var high = new double[Estimators];
        Array.Fill(low, double.NaN);
        Array.Fill(high, double.NaN);
        if (options.BootstrapResamples > 0)
        {
            var spread = Bootstrap(cells, model, options, low, high, cancellationToken);
            errors[2] = spread[2];
            errors[4] = spread[4];
        }

        string[] names = [OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dm, OffPolicyEstimators.Dr, OffPolicyEstimators.SwitchDr];
        var estimates = ImmutableArray.CreateBuilder<PolicyEstimate>(Estimators);
        for (var e = 0; e < Estimators; e++)
        {
            estimates.Add(new PolicyEstimate(names[e], values[e], errors[e], low[e], high[e]));
        }

        return new OffPolicyEvaluation(log.Count, log.MeanReward, sW2 > 0 ? sW * sW / sW2 : 0, maxW, meanW, options.BootstrapResamples, options.ConfidenceLevel, estimates.MoveToImmutable());

        double Se(double sumOfSquares) => Math.Sqrt(sumOfSquares / (n - 1) / n);
    }

    private static double Square(double x) => x * x;

    /// <summary>Adds c draws of a cell to its group's sums (rounds, responses, weights, weights at or below τ) and to the weighted responses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(Span<double> sums, int group, double c, double w, byte reward, bool below, ref double weightedResponses, ref double weightedResponsesBelow)
    {
        ref var s = ref sums[group * GroupSums];
        var cw = c * w;
        s += c;
        Unsafe.Add(ref s, 2) += cw;
        if (below)
        {
            Unsafe.Add(ref s, 3) += cw;
        }

        if (reward != 0)
        {
            Unsafe.Add(ref s, 1) += c;
            weightedResponses += cw;
            if (below)
            {
                weightedResponsesBelow += cw;
            }
        }
    }

    /// <summary>
    /// Merges rounds into cells: a counting sort by group (context × arm) and reward, then, within each, a sort by propensity
    /// so that equal propensities are adjacent. The cells come out ordered by group and reward.
    /// </summary>
    private static Cells Aggregate(DecisionLog log, Model model, double threshold)
    {
        var ctx = log.ContextIndices;
        var arm = log.ArmIndices;
        var propensity = log.Propensities;
        var reward = log.Rewards;
        var buckets = model.Groups * 2;
        var starts = new int[buckets + 1];
        var keys = new int[log.Count];
        for (var i = 0; i < log.Count; i++)
        {
            keys[i] = ((((ctx[i] * model.Arms) + arm[i]) * 2) + reward[i]);
            starts[keys[i] + 1]++;
        }

        for (var k = 0; k < buckets; k++)
        {
            starts[k + 1] += starts[k];
        }

        var next = (int[])starts.Clone();
        var sorted = new double[log.Count];
        for (var i = 0; i < log.Count; i++)
        {
            sorted[next[keys[i]]++] = propensity[i];
        }

        var cells = new Cells(Math.Min(log.Count, 1024));
        for (var k = 0; k < buckets; k++)
        {
            var span = sorted.AsSpan(starts[k], starts[k + 1] - starts[k]);
            if (span.IsEmpty)
            {
                continue;
            }

            span.Sort();
            var group = k >> 1;
            var r = (byte)(k & 1);
            for (var i = 0; i < span.Length;)
            {
                var j = i + 1;
                while (j < span.Length && span[j] == span[i])
                {
                    j++;
                }

                var w = model.Target[group] / span[i];
                var cell = cells.Add(group, w, r, w <= threshold);
                cells.Counts[cell] = j - i;
                i = j;
            }
        }

        return cells;
    }

    /// <summary>Fills the percentile intervals and returns each estimator's bootstrap standard deviation.</summary>
    private static double[] Bootstrap(Cells cells, Model model, OffPolicyEvaluationOptions options, double[] low, double[] high, CancellationToken cancellationToken)
    {
        var resamples = options.BootstrapResamples;
        var estimates = new double[Estimators * resamples];
        cells.Runs();
        var workers = options.MaxDegreeOfParallelism == -1 ? Environment.ProcessorCount : options.MaxDegreeOfParallelism;
        workers = Math.Clamp(workers, 1, resamples);
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, worker =>
        {
            var from = (int)((long)resamples * worker / workers);
            var to = (int)((long)resamples * (worker + 1) / workers);
            Resample(cells, model, options.Seed, from, to, estimates, resamples, cancellationToken);
        });

        var tail = (1 - options.ConfidenceLevel) / 2;
        var spread = new double[Estimators];
        for (var e = 0; e < Estimators; e++)
        {
            // A resample of a tiny log may draw no round at all (or no weight, for SNIPW); it estimates nothing and is left out.
            var all = estimates.AsSpan(e * resamples, resamples);
            var kept = 0;
            foreach (var x in all)
            {
                if (double.IsFinite(x))
                {
                    all[kept++] = x;
                }
            }

            if (kept == 0)
            {
                spread[e] = low[e] = high[e] = double.NaN;
                continue;
            }

            var column = all[..kept];
            double mean = 0, squares = 0;
            foreach (var x in column)
            {
                mean += x;
            }

            mean /= kept;
            foreach (var x in column)
            {
                squares += (x - mean) * (x - mean);
            }

            spread[e] = kept > 1 ? Math.Sqrt(squares / (kept - 1)) : double.NaN;
            column.Sort();
            low[e] = Quantile(column, tail);
            high[e] = Quantile(column, 1 - tail);
        }

        return spread;
    }

    /// <summary>
    /// Draws resamples [from, to) in batches that keep every resample's group sums in memory. The cells are ordered by group and
    /// reward, so each run of one group and reward is summed in registers and added to the group once; blocks of runs stay in
    /// cache while every resample of the batch goes over them.
    /// </summary>
    private static void Resample(Cells cells, Model model, ulong seed, int from, int to, double[] estimates, int resamples, CancellationToken cancellationToken)
    {
        var runs = cells.Runs();
        var width = model.Groups * GroupSums;
        var batch = (int)Math.Clamp(BatchDoubles / width, 1, to - from);
        var sums = new double[batch * width];
        var totals = new double[batch * 2];
        var states = new BanditRandom[batch];
        var q = new double[model.Groups];
        var v = new double[model.Contexts];
        var values = new double[Estimators];
        var table = PoissonOneTable;
        for (var first = from; first < to; first += batch)
        {
            var size = Math.Min(batch, to - first);
            Array.Clear(sums);
            Array.Clear(totals);
            for (var b = 0; b < size; b++)
            {
                states[b] = new BanditRandom(seed, (ulong)(first + b));
            }

            for (var runFrom = 0; runFrom < runs.Length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var runTo = runFrom;
                var blockCells = 0;
                while (runTo < runs.Length && (blockCells == 0 || blockCells + runs[runTo].Length <= BlockSize))
                {
                    blockCells += runs[runTo].Length;
                    runTo++;
                }

                for (var b = 0; b < size; b++)
                {
                    ref var random = ref states[b];
                    ref var own = ref sums[b * width];
                    double responses = 0, responsesBelow = 0;
                    for (var r = runFrom; r < runTo; r++)
                    {
                        var run = runs[r];
                        var (c, cw, cwBelow) = DrawRun(ref random, table, cells, run.Start, run.Length);
                        ref var group = ref Unsafe.Add(ref own, run.Group * GroupSums);
                        group += c;
                        Unsafe.Add(ref group, 2) += cw;
                        Unsafe.Add(ref group, 3) += cwBelow;
                        if (run.Reward != 0)
                        {
                            Unsafe.Add(ref group, 1) += c;
                            responses += cw;
                            responsesBelow += cwBelow;
                        }
                    }

                    totals[2 * b] += responses;
                    totals[(2 * b) + 1] += responsesBelow;
                }

                runFrom = runTo;
            }

            for (var b = 0; b < size; b++)
            {
                model.Estimate(sums.AsSpan(b * width, width), totals[2 * b], totals[(2 * b) + 1], q, v, values);
                for (var e = 0; e < Estimators; e++)
                {
                    estimates[(e * resamples) + first + b] = values[e];
                }
            }
        }
    }

    /// <summary>One resample's draws of cells [start, start + length): Σ c, Σ c·w and Σ c·w over the cells with w ≤ τ.</summary>
    private static (double Count, double Weight, double WeightBelow) DrawRun(ref BanditRandom random, byte[] table, Cells cells, int start, int length)
    {
        var counts = cells.Counts.AsSpan(start, length);
        var weights = cells.Weight.AsSpan(start, length);
        var below = cells.BelowWeight.AsSpan(start, length);
        double c0 = 0, c1 = 0, w0 = 0, w1 = 0, b0 = 0, b1 = 0;
        var k = 0;
        if (cells.AllSingle)
        {
            // Four Poisson(1) draws from each 64 random bits, by a table of 2^16 entries.
            for (; k + 4 <= length; k += 4)
            {
                var bits = random.NextUInt64();
                double d0 = table[(int)(bits & 0xFFFF)], d1 = table[(int)((bits >> 16) & 0xFFFF)];
                double d2 = table[(int)((bits >> 32) & 0xFFFF)], d3 = table[(int)(bits >> 48)];
                c0 += d0 + d2;
                c1 += d1 + d3;
                w0 += (d0 * weights[k]) + (d2 * weights[k + 2]);
                w1 += (d1 * weights[k + 1]) + (d3 * weights[k + 3]);
                b0 += (d0 * below[k]) + (d2 * below[k + 2]);
                b1 += (d1 * below[k + 1]) + (d3 * below[k + 3]);
            }

            if (k < length)
            {
                var bits = random.NextUInt64();
                for (; k < length; k++)
                {
                    double d = table[(int)(bits & 0xFFFF)];
                    bits >>= 16;
                    c0 += d;
                    w0 += d * weights[k];
                    b0 += d * below[k];
                }
            }
        }
        else
        {
            for (; k < length; k++)
            {
                double d = random.NextPoisson(counts[k]);
                c0 += d;
                w0 += d * weights[k];
                b0 += d * below[k];
            }
        }

        return (c0 + c1, w0 + w1, b0 + b1);
    }

    /// <summary>
    /// Poisson(1) by table: k appears round(P(k) · 2^16) times (the rounding absorbed by k = 0), so a 16-bit uniform index draws
    /// k with each probability within 2^-17 of the exact one (values up to 8; P(9 or more) is about 1e-6).
    /// </summary>
    private static byte[] BuildPoissonOneTable()
    {
        const int Size = 1 << 16;
        var table = new byte[Size];
        var counts = new int[9];
        var p = Math.Exp(-1);
        for (var k = 0; k < counts.Length; k++)
        {
            counts[k] = (int)Math.Round(p * Size);
            p /= k + 1;
        }

        counts[0] += Size - counts.Sum();
        var at = 0;
        for (var k = 0; k < counts.Length; k++)
        {
            table.AsSpan(at, counts[k]).Fill((byte)k);
            at += counts[k];
        }

        return table;
    }

    private static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }

    /// <summary>The evaluation policy and reward model over the log's contexts × arms, and the estimators computed from group sums.</summary>
    private sealed class Model
    {
        private readonly double[] _fixedQ;
        private readonly double[] _fixedV;
        private readonly double[] _unloggedMass;
        private readonly bool _refit;
        private readonly double _shrinkage;

        public Model(DecisionLog log, EvaluationPolicy policy, IRewardModel? rewardModel, OffPolicyEvaluationOptions options)
        {
            Contexts = log.Contexts.Length;
            Arms = log.Arms.Length;
            Target = new double[Groups];
            _fixedQ = new double[Groups];
            _fixedV = new double[Contexts];
            _unloggedMass = new double[Contexts];
            _refit = rewardModel is null;
            _shrinkage = options.RewardModelShrinkage;
            var known = new HashSet<DecisionArm>(log.Arms);
            for (var c = 0; c < Contexts; c++)
            {
                var context = log.Contexts[c];
                var distribution = policy.Distribution(context);
                for (var a = 0; a < Arms; a++)
                {
                    Target[(c * Arms) + a] = distribution.TryGetValue(log.Arms[a], out var p) ? p : 0;
                }

                foreach (var (candidate, p) in distribution)
                {
                    if (!known.Contains(candidate))
                    {
                        _unloggedMass[c] += p;
                    }
                }

                if (rewardModel is not null)
                {
                    var direct = 0.0;
                    foreach (var (candidate, p) in distribution)
                    {
                        if (p > 0)
                        {
                            direct += p * rewardModel.Predict(context, candidate);
                        }
                    }

                    _fixedV[c] = direct;
                    for (var a = 0; a < Arms; a++)
                    {
                        _fixedQ[(c * Arms) + a] = rewardModel.Predict(context, log.Arms[a]);
                    }
                }
            }
        }

        public int Contexts { get; }

        public int Arms { get; }

        public int Groups => Contexts * Arms;

        /// <summary>π_e(arm | context) per group.</summary>
        public double[] Target { get; }

        /// <summary>The five estimates from the group sums (rounds, responses, weights, weights at or below τ) and the weighted responses.</summary>
        public void Estimate(ReadOnlySpan<double> sums, double weightedResponses, double weightedResponsesBelow, Span<double> q, Span<double> v, Span<double> values)
        {
            double rounds = 0, weights = 0, direct = 0, predicted = 0, predictedBelow = 0;
            for (var c = 0; c < Contexts; c++)
            {
                double contextRounds = 0, contextResponses = 0;
                for (var a = 0; a < Arms; a++)
                {
                    var g = (c * Arms) + a;
                    contextRounds += sums[g * GroupSums];
                    contextResponses += sums[(g * GroupSums) + 1];
                }

                var mean = contextRounds > 0 ? contextResponses / contextRounds : 0;
                var value = _refit ? _unloggedMass[c] * mean : _fixedV[c];
                for (var a = 0; a < Arms; a++)
                {
                    var g = (c * Arms) + a;
                    var n = sums[g * GroupSums];
                    q[g] = !_refit ? _fixedQ[g] : n + _shrinkage > 0 ? (sums[(g * GroupSums) + 1] + (_shrinkage * mean)) / (n + _shrinkage) : mean;
                    if (_refit)
                    {
                        value += Target[g] * q[g];
                    }

                    weights += sums[(g * GroupSums) + 2];
                    predicted += q[g] * sums[(g * GroupSums) + 2];
                    predictedBelow += q[g] * sums[(g * GroupSums) + 3];
                }

                v[c] = value;
                rounds += contextRounds;
                direct += contextRounds * value;
            }

            var dm = direct / rounds;
            values[0] = weightedResponses / rounds;
            values[1] = weights > 0 ? weightedResponses / weights : double.NaN;
            values[2] = dm;
            values[3] = dm + ((weightedResponses - predicted) / rounds);
            values[4] = dm + ((weightedResponsesBelow - predictedBelow) / rounds);
        }
    }

    /// <summary>Cells [Start, Start + Length) share a group and a reward.</summary>
    private readonly record struct Run(int Start, int Length, int Group, byte Reward);

    /// <summary>The merged rounds: each cell's group (context × arm), rounds, importance weight, reward and whether the weight is at most τ.</summary>
    private sealed class Cells(int capacity)
    {
        private Run[]? _runs;
        public int Count;
        public double[] Counts = new double[capacity];
        public int[] Group = new int[capacity];
        public double[] Weight = new double[capacity];
        public byte[] Reward = new byte[capacity];
        public bool[] Below = new bool[capacity];
        public double[] BelowWeight = new double[capacity];

        /// <summary>Whether every cell holds one round (nothing merged): then each is drawn Poisson(1) times by table.</summary>
        public bool AllSingle { get; private set; }

        /// <summary>The runs of cells of equal group and reward (the cells are added in that order); computed once, not thread-safe.</summary>
        public Run[] Runs()
        {
            if (_runs is not null)
            {
                return _runs;
            }

            var runs = new List<Run>();
            var single = true;
            for (var i = 0; i < Count;)
            {
                var j = i;
                while (j < Count && Group[j] == Group[i] && Reward[j] == Reward[i])
                {
                    single &= Counts[j] == 1;
                    j++;
                }

                runs.Add(new Run(i, j - i, Group[i], Reward[i]));
                i = j;
            }

            AllSingle = single;
            _runs = [.. runs];
            return _runs;
        }

        public int Add(int group, double weight, byte reward, bool below)
        {
            if (Count == Counts.Length)
            {
                var size = Count * 2;
                Array.Resize(ref Counts, size);
                Array.Resize(ref Group, size);
                Array.Resize(ref Weight, size);
                Array.Resize(ref Reward, size);
                Array.Resize(ref Below, size);
                Array.Resize(ref BelowWeight, size);
            }

            Counts[Count] = 1;
            Group[Count] = group;
            Weight[Count] = weight;
            Reward[Count] = reward;
            Below[Count] = below;
            BelowWeight[Count] = below ? weight : 0;
            return Count++;
        }
    }
}
