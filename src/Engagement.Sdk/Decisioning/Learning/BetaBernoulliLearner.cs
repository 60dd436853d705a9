using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>Options of <see cref="BetaBernoulliLearner{TKey}"/>.</summary>
public sealed class BetaBernoulliLearnerOptions
{
    /// <summary>How many observations the prior (centred on the action's base propensity) is worth.</summary>
    /// <value>Defaults to 20; positive and finite.</value>
    public double PriorWeight { get; init; } = 20;

    /// <summary>
    /// The half-life of the evidence: a send or response this long ago counts half as much as one now, so the belief follows
    /// a drifting response rate. <see langword="null"/> keeps every observation at full weight.
    /// </summary>
    /// <value>Defaults to <see langword="null"/> (no decay); when set, positive.</value>
    public TimeSpan? HalfLife { get; init; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="EngagementValidationException">An option is out of range.</exception>
    public void Validate()
    {
        if (!(PriorWeight > 0) || double.IsInfinity(PriorWeight))
        {
            throw new EngagementValidationException(nameof(PriorWeight), PriorWeight, "must be positive and finite");
        }

        if (HalfLife is { } h && h <= TimeSpan.Zero)
        {
            throw new EngagementValidationException(nameof(HalfLife), h, "must be positive when set");
        }
    }
}

/// <summary>The (decayed) evidence about one arm at an instant.</summary>
/// <param name="Sends">The number of sends, decayed to <paramref name="AsOf"/> (so possibly fractional).</param>
/// <param name="Responses">The number of responses, decayed the same way; at most <paramref name="Sends"/> when read back.</param>
/// <param name="AsOf">The instant the counts are decayed to.</param>
public readonly record struct ArmCounts(double Sends, double Responses, DateTimeOffset AsOf);

/// <summary>
/// Beta-Bernoulli beliefs about response rates, one per arm (for example action × channel, or segment × action × channel),
/// with exponential decay of old evidence. The belief of an arm is Beta(p₀·w + R, (1 − p₀)·w + S − R): the prior centred on
/// the action's base propensity p₀ and worth <see cref="BetaBernoulliLearnerOptions.PriorWeight"/> observations w, plus the
/// decayed sends S and responses R. The prior is applied when reading, so a changed base propensity takes effect at once.
/// Thread-safe; reading an arm allocates nothing (for a value-type key), and events arriving out of time order are decayed
/// by their own age.
/// </summary>
/// <typeparam name="TKey">The arm's key, ideally a value type such as <c>(string Action, Channel Channel)</c>.</typeparam>
public sealed class BetaBernoulliLearner<TKey>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, ArmState> _arms;
    private readonly double _ticksPerHalfLife;

    /// <summary>Creates the learner.</summary>
    /// <param name="options">The options; the defaults when <see langword="null"/>.</param>
    /// <param name="comparer">Compares keys; the default comparer when <see langword="null"/>.</param>
    /// <exception cref="EngagementValidationException">The options are out of range.</exception>
    public BetaBernoulliLearner(BetaBernoulliLearnerOptions? options = null, IEqualityComparer<TKey>? comparer = null)
    {
        Options = options ?? new BetaBernoulliLearnerOptions();
        Options.Validate();
        _ticksPerHalfLife = Options.HalfLife is { } h ? h.Ticks : double.PositiveInfinity;
        _arms = new ConcurrentDictionary<TKey, ArmState>(comparer);
    }

    /// <summary>The options.</summary>
    public BetaBernoulliLearnerOptions Options { get; }

    /// <summary>How many arms have evidence.</summary>
    public int Count => _arms.Count;

    /// <summary>Records that <paramref name="arm"/> was sent at <paramref name="at"/>.</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="at">When.</param>
    public void RecordSend(TKey arm, DateTimeOffset at) => Add(arm, 1, 0, at);

    /// <summary>
    /// Records a response to <paramref name="arm"/> at <paramref name="at"/>. Counting a response only against a real send,
    /// once, is the caller's job (the learner cannot see dispatches); responses beyond sends are ignored when reading.
    /// </summary>
    /// <param name="arm">The arm.</param>
    /// <param name="at">When.</param>
    public void RecordResponse(TKey arm, DateTimeOffset at) => Add(arm, 0, 1, at);

    /// <summary>Records a send and its outcome together (for example in a simulation, or when replaying a log).</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="responded">Whether the customer responded.</param>
    /// <param name="at">When.</param>
    public void Record(TKey arm, bool responded, DateTimeOffset at) => Add(arm, 1, responded ? 1 : 0, at);

    /// <summary>The evidence about <paramref name="arm"/>, decayed to <paramref name="at"/>; zero when there is none.</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="at">The instant.</param>
    /// <returns>The counts.</returns>
    public ArmCounts GetCounts(TKey arm, DateTimeOffset at)
    {
        if (!_arms.TryGetValue(arm, out var state))
        {
            return new ArmCounts(0, 0, at);
        }

        lock (state.Gate)
        {
            var factor = Factor(at.UtcTicks - state.Ticks);
            var sends = state.Sends * factor;
            return new ArmCounts(sends, Math.Min(state.Responses * factor, sends), at);
        }
    }

    /// <summary>The belief about <paramref name="arm"/> at <paramref name="at"/>: the prior centred on <paramref name="basePropensity"/> plus the decayed evidence.</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="basePropensity">The prior response probability, in (0, 1].</param>
    /// <param name="at">The instant.</param>
    /// <returns>The posterior.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="basePropensity"/> is out of range.</exception>
    public BetaPosterior GetPosterior(TKey arm, double basePropensity, DateTimeOffset at)
    {
        var prior = BetaPosterior.FromPrior(basePropensity, Options.PriorWeight);
        var counts = GetCounts(arm, at);
        return counts.Sends > 0 ? prior.Update(counts.Sends, counts.Responses) : prior;
    }

    /// <summary>Sets the evidence of <paramref name="arm"/>, for example when loading it from a store.</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="counts">The counts and the instant they are decayed to.</param>
    /// <exception cref="EngagementValidationException">A count is negative or not finite.</exception>
    public void Restore(TKey arm, ArmCounts counts)
    {
        if (!(counts.Sends >= 0) || double.IsInfinity(counts.Sends))
        {
            throw new EngagementValidationException("counts.Sends", counts.Sends, "must be at least 0 and finite");
        }

        if (!(counts.Responses >= 0) || double.IsInfinity(counts.Responses))
        {
            throw new EngagementValidationException("counts.Responses", counts.Responses, "must be at least 0 and finite");
        }

        var state = _arms.GetOrAdd(arm, static (_, ticks) => new ArmState { Ticks = ticks }, counts.AsOf.UtcTicks);
        lock (state.Gate)
        {
            state.Sends = counts.Sends;
            state.Responses = counts.Responses;
            state.Ticks = counts.AsOf.UtcTicks;
        }
    }

    /// <summary>Every arm's evidence, decayed to <paramref name="at"/>, for example to save it in a store.</summary>
    /// <param name="at">The instant.</param>
    /// <returns>The arms and their counts, in no particular order.</returns>
    public ImmutableArray<KeyValuePair<TKey, ArmCounts>> Snapshot(DateTimeOffset at)
    {
        var builder = ImmutableArray.CreateBuilder<KeyValuePair<TKey, ArmCounts>>(_arms.Count);
        foreach (var key in _arms.Keys)
        {
            builder.Add(new KeyValuePair<TKey, ArmCounts>(key, GetCounts(key, at)));
        }

        return builder.ToImmutable();
    }

    private void Add(TKey arm, double sends, double responses, DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        var state = _arms.GetOrAdd(arm, static (_, t) => new ArmState { Ticks = t }, ticks);
        lock (state.Gate)
        {
            if (ticks >= state.Ticks)
            {
                var factor = Factor(ticks - state.Ticks);
                state.Sends = (state.Sends * factor) + sends;
                state.Responses = (state.Responses * factor) + responses;
                state.Ticks = ticks;
            }
            else
            {
                // An event older than the last one counts as much as it would have had it arrived in order.
                var factor = Factor(state.Ticks - ticks);
                state.Sends += sends * factor;
                state.Responses += responses * factor;
            }
        }
    }

    private double Factor(long elapsedTicks) => elapsedTicks <= 0 || double.IsPositiveInfinity(_ticksPerHalfLife)
        ? 1
        : double.Exp2(-elapsedTicks / _ticksPerHalfLife);

    private sealed class ArmState
    {
        public readonly Lock Gate = new();
        public double Sends;
        public double Responses;
        public long Ticks;
    }
}
