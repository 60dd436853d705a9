using System.Collections.Immutable;
using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Decisioning.Evaluation;

/// <summary>
/// A simulated market with known true response rates per segment × arm (action × channel), for measuring policies against
/// the oracle that always knows the best arm. Immutable; build it with <see cref="Builder"/> or take <see cref="CreateExample"/>.
/// </summary>
public sealed class SimulatedMarket
{
    private readonly double[] _rates;
    private readonly double[] _cumulativeWeights;

    private SimulatedMarket(ImmutableArray<string> segments, ImmutableArray<double> weights, ImmutableArray<DecisionArm> arms, double[] rates)
    {
        Segments = segments;
        SegmentWeights = weights;
        Arms = arms;
        _rates = rates;
        _cumulativeWeights = new double[weights.Length];
        var total = weights.Sum();
        var cumulative = 0.0;
        for (var s = 0; s < weights.Length; s++)
        {
            cumulative += weights[s] / total;
            _cumulativeWeights[s] = cumulative;
        }

        _cumulativeWeights[^1] = 1;
        var oracle = 0.0;
        for (var s = 0; s < weights.Length; s++)
        {
            oracle += weights[s] / total * OracleRate(s);
        }

        OracleClickRate = oracle;
    }

    /// <summary>The customer segments.</summary>
    public ImmutableArray<string> Segments { get; }

    /// <summary>How often each segment comes (relative weights).</summary>
    public ImmutableArray<double> SegmentWeights { get; }

    /// <summary>The arms, the same in every segment.</summary>
    public ImmutableArray<DecisionArm> Arms { get; }

    /// <summary>The oracle's expected click rate: the best arm's rate in each segment, weighted by the segments' shares.</summary>
    public double OracleClickRate { get; }

    /// <summary>The true response rate of <paramref name="arm"/> in <paramref name="segment"/>.</summary>
    /// <param name="segment">The segment's index.</param>
    /// <param name="arm">The arm's index.</param>
    /// <returns>The rate.</returns>
    public double TrueRate(int segment, int arm) => _rates[(segment * Arms.Length) + arm];

    /// <summary>The best arm's rate in <paramref name="segment"/>.</summary>
    /// <param name="segment">The segment's index.</param>
    /// <returns>The rate.</returns>
    public double OracleRate(int segment)
    {
        var best = 0.0;
        for (var a = 0; a < Arms.Length; a++)
        {
            best = Math.Max(best, TrueRate(segment, a));
        }

        return best;
    }

    internal int DrawSegment(ref BanditRandom random)
    {
        var u = random.NextDouble();
        var s = 0;
        while (s < _cumulativeWeights.Length - 1 && u >= _cumulativeWeights[s])
        {
            s++;
        }

        return s;
    }

    /// <summary>
    /// The example market of the documentation: four segments (new 40 %, active 30 %, loyal 20 %, lapsed 10 %), five actions on
    /// email, SMS and push (15 arms), true rates from 0.4 % to 9.6 % with a different best arm in each segment, and in each
    /// segment some early arm that beats the 5 % prior without being the best (the trap a greedy policy falls into).
    /// </summary>
    /// <returns>The market.</returns>
    public static SimulatedMarket CreateExample()
    {
        string[] actions = ["welcome_offer", "new_arrivals", "loyalty_points", "win_back", "cart_reminder"];
        Channel[] channels = [Channel.Email, Channel.Sms, Channel.Push];
        (string Name, double Weight, double[] Action, double[] Channel)[] segments =
        [
            ("new", 0.4, [0.060, 0.045, 0.010, 0.010, 0.080], [0.9, 0.6, 1.2]),
            ("active", 0.3, [0.020, 0.070, 0.040, 0.010, 0.065], [1.1, 0.7, 1.0]),
            ("loyal", 0.2, [0.015, 0.055, 0.080, 0.012, 0.050], [0.8, 1.2, 1.0]),
            ("lapsed", 0.1, [0.020, 0.030, 0.020, 0.060, 0.025], [1.3, 0.8, 0.6]),
        ];
        var builder = new Builder();
        foreach (var action in actions)
        {
            foreach (var channel in channels)
            {
                builder.AddArm(new DecisionArm(action, channel));
            }
        }

        foreach (var (name, weight, action, channel) in segments)
        {
            builder.AddSegment(name, weight);
            for (var a = 0; a < actions.Length; a++)
            {
                for (var c = 0; c < channels.Length; c++)
                {
                    builder.SetRate(name, new DecisionArm(actions[a], channels[c]), action[a] * channel[c]);
                }
            }
        }

        return builder.Build();
    }

    /// <summary>Accumulates a market. Not thread-safe.</summary>
    public sealed class Builder
    {
        private readonly List<(string Name, double Weight)> _segments = [];
        private readonly List<DecisionArm> _arms = [];
        private readonly Dictionary<(string, DecisionArm), double> _rates = [];

        /// <summary>Adds a segment.</summary>
        /// <param name="name">Its name, unique.</param>
        /// <param name="weight">Its relative frequency, positive.</param>
        /// <returns>This builder.</returns>
        /// <exception cref="EngagementValidationException">The name is empty or taken, or the weight is not positive.</exception>
        public Builder AddSegment(string name, double weight)
        {
            if (string.IsNullOrEmpty(name) || _segments.Exists(s => s.Name == name))
            {
                throw new EngagementValidationException("segment", name, "must be a non-empty, unique name");
            }

            if (!(weight > 0) || double.IsInfinity(weight))
            {
                throw new EngagementValidationException("segment.weight", weight, "must be positive and finite");
            }

            _segments.Add((name, weight));
            return this;
        }

        /// <summary>Adds an arm.</summary>
        /// <param name="arm">The arm, unique.</param>
        /// <returns>This builder.</returns>
        /// <exception cref="EngagementValidationException">The arm has no action or is already there.</exception>
        public Builder AddArm(DecisionArm arm)
        {
            if (string.IsNullOrEmpty(arm.Action) || _arms.Contains(arm))
            {
                throw new EngagementValidationException(nameof(arm), arm, "must have an action and be unique");
            }

            _arms.Add(arm);
            return this;
        }

        /// <summary>Sets the true response rate of <paramref name="arm"/> in <paramref name="segment"/>.</summary>
        /// <param name="segment">The segment's name.</param>
        /// <param name="arm">The arm.</param>
        /// <param name="rate">The rate, in [0, 1].</param>
        /// <returns>This builder.</returns>
        /// <exception cref="EngagementValidationException">The rate is outside [0, 1].</exception>
        public Builder SetRate(string segment, DecisionArm arm, double rate)
        {
            if (!(rate >= 0 && rate <= 1))
            {
                throw new EngagementValidationException(nameof(rate), rate, "must be in [0, 1]");
            }

            _rates[(segment, arm)] = rate;
            return this;
        }

        /// <summary>The market.</summary>
        /// <returns>The market.</returns>
        /// <exception cref="EngagementValidationException">There is no segment or arm, or a segment × arm has no rate.</exception>
        public SimulatedMarket Build()
        {
            if (_segments.Count == 0 || _arms.Count == 0)
            {
                throw new EngagementValidationException("market", _segments.Count, "needs at least one segment and one arm");
            }

            var rates = new double[_segments.Count * _arms.Count];
            for (var s = 0; s < _segments.Count; s++)
            {
                for (var a = 0; a < _arms.Count; a++)
                {
                    rates[(s * _arms.Count) + a] = _rates.TryGetValue((_segments[s].Name, _arms[a]), out var r)
                        ? r
                        : throw new EngagementValidationException("rate", $"{_segments[s].Name} × {_arms[a]}", "is not set");
                }
            }

            return new SimulatedMarket([.. _segments.Select(s => s.Name)], [.. _segments.Select(s => s.Weight)], [.. _arms], rates);
        }
    }
}

/// <summary>Options of <see cref="BanditSimulator"/>.</summary>
public sealed class BanditSimulationOptions
{
    /// <summary>The number of decisions.</summary>
    /// <value>Defaults to 100,000; positive.</value>
    public int Decisions { get; init; } = 100_000;

    /// <summary>The seed: the same seed, market and policy give the same run.</summary>
    /// <value>Defaults to 0.</value>
    public ulong Seed { get; init; }

    /// <summary>The prior response probability of every arm (the actions' base propensity).</summary>
    /// <value>Defaults to 0.05; in (0, 1].</value>
    public double BasePropensity { get; init; } = 0.05;

    /// <summary>The learner's options (prior weight, decay).</summary>
    /// <value>Defaults to a prior worth 20 observations and no decay.</value>
    public BetaBernoulliLearnerOptions Learner { get; init; } = new();

    /// <summary>The numbers of decisions after which to report the cumulative figures; the last decision is always reported.</summary>
    /// <value>Defaults to 1,000, 10,000 and 100,000.</value>
    public ImmutableArray<int> Checkpoints { get; init; } = [1_000, 10_000, 100_000];

    /// <summary>Whether to return the decisions as a <see cref="DecisionLog"/> (segment as context, logged choice probability, click), for off-policy evaluation.</summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool LogDecisions { get; init; }

    /// <summary>
    /// When positive, every segment × arm carries a <see cref="PosteriorSampleBank"/> of this many samples, drawn again once
    /// its belief changed and <see cref="SampleBankRefresh"/> decisions passed, as the decider does; Thompson sampling then
    /// draws from the banks. 0 (the default) gives the policy the posteriors.
    /// </summary>
    /// <value>Defaults to 0; otherwise a multiple of 64 from 64 to 65,536.</value>
    public int SampleBankSize { get; init; }

    /// <summary>How many decisions a sample bank is kept after its belief changed.</summary>
    /// <value>Defaults to 100; at least 0.</value>
    public int SampleBankRefresh { get; init; } = 100;

    /// <summary>Checks the options.</summary>
    /// <exception cref="EngagementValidationException">An option is out of range.</exception>
    public void Validate()
    {
        if (SampleBankSize != 0)
        {
            PosteriorSampleBank.CheckSize(nameof(SampleBankSize), SampleBankSize);
        }

        if (SampleBankRefresh < 0)
        {
            throw new EngagementValidationException(nameof(SampleBankRefresh), SampleBankRefresh, "must be at least 0");
        }

        if (Decisions <= 0)
        {
            throw new EngagementValidationException(nameof(Decisions), Decisions, "must be positive");
        }

        if (!(BasePropensity > 0 && BasePropensity <= 1))
        {
            throw new EngagementValidationException(nameof(BasePropensity), BasePropensity, "must be in (0, 1]");
        }

        ArgumentNullException.ThrowIfNull(Learner);
        Learner.Validate();
    }
}

/// <summary>The cumulative figures of a simulation after some decisions.</summary>
/// <param name="Decisions">The number of decisions so far.</param>
/// <param name="CumulativeRegret">Σ (the oracle's rate − the chosen arm's rate) over the decisions: the expected clicks lost to not knowing the rates.</param>
/// <param name="ExpectedClickRate">The mean true rate of the chosen arms.</param>
/// <param name="ClickRate">The clicks drawn, per decision.</param>
/// <param name="OracleClickRate">The oracle's mean rate over the same customers.</param>
public sealed record SimulationCheckpoint(int Decisions, double CumulativeRegret, double ExpectedClickRate, double ClickRate, double OracleClickRate)
{
    /// <summary>The expected click rate as a share of the oracle's.</summary>
    public double ShareOfOracle => ExpectedClickRate / OracleClickRate;

    /// <summary>Shows the figures.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Decisions}: regret {CumulativeRegret:0.0}, rate {ExpectedClickRate:P2} of oracle {OracleClickRate:P2} ({ShareOfOracle:P1})");
}

/// <summary>The result of a simulation.</summary>
/// <param name="Checkpoints">The cumulative figures at each checkpoint, the last after every decision.</param>
/// <param name="Log">The decisions as a log, when <see cref="BanditSimulationOptions.LogDecisions"/> was set.</param>
public sealed record BanditSimulationResult(ImmutableArray<SimulationCheckpoint> Checkpoints, DecisionLog? Log)
{
    /// <summary>The figures after the last decision.</summary>
    public SimulationCheckpoint Final => Checkpoints[^1];
}

/// <summary>
/// Runs a bandit policy against a <see cref="SimulatedMarket"/>: each decision draws a customer's segment, builds every arm's
/// belief from a <see cref="BetaBernoulliLearner{TKey}"/> per segment × arm, lets the policy choose, draws the click from the
/// true rate and teaches the learner. Regret is measured against the oracle. Deterministic for a seed.
/// </summary>
public static class BanditSimulator
{
    /// <summary>Runs <paramref name="policy"/> on <paramref name="market"/>.</summary>
    /// <param name="market">The market.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The options; the defaults when <see langword="null"/>.</param>
    /// <returns>The cumulative figures at the checkpoints, and the log when asked for.</returns>
    /// <exception cref="EngagementValidationException">An option is out of range.</exception>
    public static BanditSimulationResult Run(SimulatedMarket market, IBanditPolicy policy, BanditSimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(market);
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new BanditSimulationOptions();
        options.Validate();
        var learner = new BetaBernoulliLearner<(int Segment, int Arm)>(options.Learner);
        var random = new BanditRandom(options.Seed);
        var arms = new ArmBelief[market.Arms.Length];
        var banks = options.SampleBankSize > 0 ? new PosteriorSampleBank?[market.Segments.Length * market.Arms.Length] : null;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var checkpoints = ImmutableArray.CreateBuilder<SimulationCheckpoint>();
        var log = options.LogDecisions ? new DecisionLog.Builder() : null;
        double regret = 0, expected = 0, oracle = 0;
        long clicks = 0;
        for (var t = 0; t < options.Decisions; t++)
        {
            var at = start.AddMinutes(t);
            var segment = market.DrawSegment(ref random);
            for (var a = 0; a < arms.Length; a++)
            {
                var posterior = learner.GetPosterior((segment, a), options.BasePropensity, at);
                arms[a] = new ArmBelief(posterior);
                if (banks is not null)
                {
                    ref var bank = ref banks[(segment * arms.Length) + a];
                    if (bank is null || (bank.Posterior != posterior && t - bank.Stamp >= options.SampleBankRefresh))
                    {
                        var stream = new BanditRandom(options.Seed ^ 0x5851F42D4C957F2DUL, (ulong)((segment * arms.Length) + a) + ((ulong)t << 20));
                        bank = PosteriorSampleBank.Draw(posterior, options.SampleBankSize, ref stream, t);
                    }

                    arms[a] = arms[a] with { Samples = bank };
                }
            }

            var choice = policy.Choose(arms, ref random);
            var rate = market.TrueRate(segment, choice.Index);
            var best = market.OracleRate(segment);
            var clicked = random.NextDouble() < rate;
            learner.Record((segment, choice.Index), clicked, at);
            regret += best - rate;
            expected += rate;
            oracle += best;
            clicks += clicked ? 1 : 0;
            var arm = market.Arms[choice.Index];
            log?.Add(new LoggedDecision(market.Segments[segment], arm.Action, arm.Channel, choice.Probability.Value, clicked ? 1 : 0));

            var done = t + 1;
            if (options.Checkpoints.Contains(done) || done == options.Decisions)
            {
                if (checkpoints.Count == 0 || checkpoints[^1].Decisions != done)
                {
                    checkpoints.Add(new SimulationCheckpoint(done, regret, expected / done, (double)clicks / done, oracle / done));
                }
            }
        }

        return new BanditSimulationResult(checkpoints.ToImmutable(), log?.Build());
    }
}
