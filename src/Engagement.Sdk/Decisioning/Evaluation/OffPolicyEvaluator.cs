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
    /// <value>Defaults to 10; positive.</value>
    public double SwitchThreshold { get; init; } = 10;

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
/// <param name="StandardError">The normal-approximation standard error (delta method for SNIPW; for DM and DR the reward model is taken as fixed).</param>
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
/// merged into cells first. The bootstrap is a Poisson bootstrap: each round is drawn Poisson(1) times, so a cell of m rounds
/// is drawn Poisson(m) times (the same distribution), each resample from its own seeded stream; resamples are spread over
/// the cores and the intervals do not depend on the number of threads. The reward model is fitted once on the whole log and
/// held fixed in the resamples, so the DM interval does not include the model's own uncertainty.
/// </para>
/// </summary>
public static class OffPolicyEvaluator
{
    private const int Sums = 5;
    private const int BlockSize = 4096;
    private static readonly ulong[] PoissonOneThresholds = BuildPoissonOneThresholds();

    /// <summary>Evaluates <paramref name="policy"/> on <paramref name="log"/>.</summary>
    /// <param name="log">The logged decisions, at least one.</param>
    /// <param name="policy">The policy to evaluate; it must cover every context of the log.</param>
    /// <param name="rewardModel">The reward model of DM, DR and Switch-DR; a <see cref="TabularRewardModel"/> fitted on the log when <see langword="null"/>.</param>
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

        rewardModel ??= TabularRewardModel.Fit(log, options.RewardModelShrinkage);
        var cells = Aggregate(log, policy, rewardModel, options.SwitchThreshold);

        // Point estimates, the weights' diagnostics and normal-approximation standard errors.
        var n = (double)log.Count;
        double sIpw = 0, sW = 0, sDm = 0, sDr = 0, sSw = 0, sW2 = 0, maxW = 0;
        for (var k = 0; k < cells.Count; k++)
        {
            var m = cells.Counts[k];
            sIpw += m * cells.Ipw[k];
            sW += m * cells.Weight[k];
            sDm += m * cells.Dm[k];
            sDr += m * cells.Dr[k];
            sSw += m * cells.Switch[k];
            sW2 += m * cells.Weight[k] * cells.Weight[k];
            maxW = Math.Max(maxW, cells.Weight[k]);
        }

        double[] values = [sIpw / n, sIpw / sW, sDm / n, sDr / n, sSw / n];
        var snipw = values[1];
        double vIpw = 0, vSn = 0, vDm = 0, vDr = 0, vSw = 0;
        for (var k = 0; k < cells.Count; k++)
        {
            var m = cells.Counts[k];
            vIpw += m * Square(cells.Ipw[k] - values[0]);
            vSn += m * Square(cells.Ipw[k] - (snipw * cells.Weight[k]));
            vDm += m * Square(cells.Dm[k] - values[2]);
            vDr += m * Square(cells.Dr[k] - values[3]);
            vSw += m * Square(cells.Switch[k] - values[4]);
        }

        var meanW = sW / n;
        double[] errors =
        [
            Math.Sqrt(vIpw / (n - 1) / n),
            sW > 0 ? Math.Sqrt(vSn / (n - 1) / n) / meanW : double.NaN,
            Math.Sqrt(vDm / (n - 1) / n),
            Math.Sqrt(vDr / (n - 1) / n),
            Math.Sqrt(vSw / (n - 1) / n),
        ];
        if (log.Count == 1)
        {
            Array.Fill(errors, double.NaN);
        }

        var low = new double[Sums];
        var high = new double[Sums];
        Array.Fill(low, double.NaN);
        Array.Fill(high, double.NaN);
        if (options.BootstrapResamples > 0)
        {
            Bootstrap(cells, options, low, high, cancellationToken);
        }

        string[] names = [OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dm, OffPolicyEstimators.Dr, OffPolicyEstimators.SwitchDr];
        var estimates = ImmutableArray.CreateBuilder<PolicyEstimate>(Sums);
        for (var e = 0; e < Sums; e++)
        {
            estimates.Add(new PolicyEstimate(names[e], values[e], errors[e], low[e], high[e]));
        }

        return new OffPolicyEvaluation(log.Count, log.MeanReward, sW2 > 0 ? sW * sW / sW2 : 0, maxW, meanW, options.BootstrapResamples, options.ConfidenceLevel, estimates.MoveToImmutable());
    }

    private static double Square(double x) => x * x;

    private static Cells Aggregate(DecisionLog log, EvaluationPolicy policy, IRewardModel model, double threshold)
    {
        var contexts = log.Contexts.Length;
        var arms = log.Arms.Length;
        var target = new double[contexts * arms];
        var predicted = new double[contexts * arms];
        var direct = new double[contexts];
        for (var c = 0; c < contexts; c++)
        {
            var context = log.Contexts[c];
            var distribution = policy.Distribution(context);
            var v = 0.0;
            foreach (var (candidate, p) in distribution)
            {
                if (p > 0)
                {
                    v += p * model.Predict(context, candidate);
                }
            }

            direct[c] = v;
            for (var a = 0; a < arms; a++)
            {
                target[(c * arms) + a] = distribution.TryGetValue(log.Arms[a], out var p) ? p : 0;
                predicted[(c * arms) + a] = model.Predict(context, log.Arms[a]);
            }
        }

        var ctx = log.ContextIndices;
        var arm = log.ArmIndices;
        var propensity = log.Propensities;
        var reward = log.Rewards;
        var index = new Dictionary<(int Group, double Propensity, byte Reward), int>();
        var cells = new Cells(Math.Min(log.Count, 1024));
        for (var i = 0; i < log.Count; i++)
        {
            var group = (ctx[i] * arms) + arm[i];
            var key = (group, propensity[i], reward[i]);
            if (index.TryGetValue(key, out var cell))
            {
                cells.Counts[cell]++;
                continue;
            }

            var w = target[group] / propensity[i];
            double r = reward[i];
            var q = predicted[group];
            var v = direct[ctx[i]];
            var dr = v + (w * (r - q));
            index.Add(key, cells.Add(w, w * r, v, dr, w <= threshold ? dr : v));
        }

        return cells;
    }

    private static void Bootstrap(Cells cells, OffPolicyEvaluationOptions options, double[] low, double[] high, CancellationToken cancellationToken)
    {
        var resamples = options.BootstrapResamples;
        var sums = new double[resamples * (Sums + 1)];
        var workers = options.MaxDegreeOfParallelism == -1 ? Environment.ProcessorCount : options.MaxDegreeOfParallelism;
        workers = Math.Clamp(workers, 1, resamples);
        var seed = options.Seed;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, worker =>
        {
            var from = (int)((long)resamples * worker / workers);
            var to = (int)((long)resamples * (worker + 1) / workers);
            Resample(cells, seed, from, to, sums, cancellationToken);
        });

        var estimates = new double[Sums][];
        for (var e = 0; e < Sums; e++)
        {
            estimates[e] = new double[resamples];
        }

        for (var b = 0; b < resamples; b++)
        {
            var s = sums.AsSpan(b * (Sums + 1), Sums + 1);
            var count = s[Sums];
            estimates[0][b] = s[0] / count;
            estimates[1][b] = s[1] > 0 ? s[0] / s[1] : 0;
            estimates[2][b] = s[2] / count;
            estimates[3][b] = s[3] / count;
            estimates[4][b] = s[4] / count;
        }

        var tail = (1 - options.ConfidenceLevel) / 2;
        for (var e = 0; e < Sums; e++)
        {
            Array.Sort(estimates[e]);
            low[e] = Quantile(estimates[e], tail);
            high[e] = Quantile(estimates[e], 1 - tail);
        }
    }

    /// <summary>Accumulates resamples [from, to): per resample Σ c·(w r), Σ c·w, Σ c·dm, Σ c·dr, Σ c·switch and Σ c, block by block.</summary>
    private static void Resample(Cells cells, ulong seed, int from, int to, double[] sums, CancellationToken cancellationToken)
    {
        var states = new BanditRandom[to - from];
        for (var b = from; b < to; b++)
        {
            states[b - from] = new BanditRandom(seed, (ulong)b);
        }

        var thresholds = PoissonOneThresholds;
        for (var start = 0; start < cells.Count; start += BlockSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var end = Math.Min(cells.Count, start + BlockSize);
            var counts = cells.Counts.AsSpan(start, end - start);
            var ipw = cells.Ipw.AsSpan(start, end - start);
            var weight = cells.Weight.AsSpan(start, end - start);
            var dm = cells.Dm.AsSpan(start, end - start);
            var dr = cells.Dr.AsSpan(start, end - start);
            var sw = cells.Switch.AsSpan(start, end - start);
            for (var b = from; b < to; b++)
            {
                ref var random = ref states[b - from];
                double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0;
                for (var k = 0; k < counts.Length; k++)
                {
                    var m = counts[k];
                    double c = m == 1 ? PoissonOne(ref random, thresholds) : random.NextPoisson(m);
                    if (c == 0)
                    {
                        continue;
                    }

                    a0 += c * ipw[k];
                    a1 += c * weight[k];
                    a2 += c * dm[k];
                    a3 += c * dr[k];
                    a4 += c * sw[k];
                    a5 += c;
                }

                var s = sums.AsSpan(b * (Sums + 1), Sums + 1);
                s[0] += a0;
                s[1] += a1;
                s[2] += a2;
                s[3] += a3;
                s[4] += a4;
                s[5] += a5;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PoissonOne(ref BanditRandom random, ulong[] thresholds)
    {
        var u = random.NextUInt64() >> 11;
        var k = 0;
        while (u >= thresholds[k])
        {
            k++;
        }

        return k;
    }

    /// <summary>P(Poisson(1) ≤ k) · 2^53 for k = 0, 1, …, ending with 2^53 so that every 53-bit uniform stops the search.</summary>
    private static ulong[] BuildPoissonOneThresholds()
    {
        var thresholds = new List<ulong>();
        var p = Math.Exp(-1);
        var cumulative = p;
        for (var k = 1; cumulative < 1 - 1e-16 && k < 30; k++)
        {
            thresholds.Add((ulong)(cumulative * (1UL << 53)));
            p /= k;
            cumulative += p;
        }

        thresholds.Add(1UL << 53);
        return [.. thresholds];
    }

    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }

    /// <summary>The merged rounds: how many rounds each cell holds and each estimator's per-round term.</summary>
    private sealed class Cells(int capacity)
    {
        public int Count;
        public double[] Counts = new double[capacity];
        public double[] Weight = new double[capacity];
        public double[] Ipw = new double[capacity];
        public double[] Dm = new double[capacity];
        public double[] Dr = new double[capacity];
        public double[] Switch = new double[capacity];

        public int Add(double weight, double ipw, double dm, double dr, double sw)
        {
            if (Count == Counts.Length)
            {
                var size = Count * 2;
                Array.Resize(ref Counts, size);
                Array.Resize(ref Weight, size);
                Array.Resize(ref Ipw, size);
                Array.Resize(ref Dm, size);
                Array.Resize(ref Dr, size);
                Array.Resize(ref Switch, size);
            }

            Counts[Count] = 1;
            Weight[Count] = weight;
            Ipw[Count] = ipw;
            Dm[Count] = dm;
            Dr[Count] = dr;
            Switch[Count] = sw;
            return Count++;
        }
    }
}
