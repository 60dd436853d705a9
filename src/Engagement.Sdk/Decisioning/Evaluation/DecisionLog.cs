using System.Collections.Immutable;
using System.Globalization;
using Engagement.Sdk.Channels;

namespace Engagement.Sdk.Decisioning.Evaluation;

/// <summary>
/// One logged round of a decision: in which context, which action (on which channel) was chosen, with what probability the
/// logging policy chose it, and whether the customer responded. The SDK's own decisions map to it (context: the segment or
/// slot; action and channel; the logged choice probability; the click), and so do external logs such as the Open Bandit
/// Dataset (context: the position; action: the item; no channel).
/// </summary>
/// <param name="Context">The context the policy saw, as a key (a segment, a slot); use one value for a context-free log.</param>
/// <param name="Action">The chosen action.</param>
/// <param name="Channel">The channel it went out on, or <see langword="null"/> when the log has no channels.</param>
/// <param name="Propensity">The probability with which the logging policy chose this action (and channel) in this context, in (0, 1].</param>
/// <param name="Reward">The response: 1 when the customer responded (clicked), 0 otherwise.</param>
public readonly record struct LoggedDecision(string Context, string Action, Channel? Channel, double Propensity, double Reward);

/// <summary>An action on a channel (or an action alone, when the log has no channels): what a policy chooses.</summary>
/// <param name="Action">The action.</param>
/// <param name="Channel">The channel, or <see langword="null"/>.</param>
public readonly record struct DecisionArm(string Action, Channel? Channel)
{
    /// <summary>The action, and the channel after an '@' when there is one.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Channel is { } c ? $"{Action}@{c}" : Action;
}

/// <summary>A logged round that breaks a rule: names the line (or row), the field, the value and the rule.</summary>
public sealed class DecisionLogException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="line">The line of the file (or the 1-based row of the log) holding the bad value.</param>
    /// <param name="field">The field or column.</param>
    /// <param name="value">The value given, or <see langword="null"/> when missing.</param>
    /// <param name="rule">The rule it breaks.</param>
    public DecisionLogException(long line, string field, string? value, string rule)
        : base(string.Create(CultureInfo.InvariantCulture, $"Line {line}, {field} '{value ?? "<missing>"}': {rule}."))
    {
        Line = line;
        Field = field;
        Value = value;
        Rule = rule;
    }

    /// <summary>The line of the file (or the 1-based row of the log).</summary>
    public long Line { get; }

    /// <summary>The field or column.</summary>
    public string Field { get; }

    /// <summary>The value given, or <see langword="null"/> when missing.</summary>
    public string? Value { get; }

    /// <summary>The rule it breaks.</summary>
    public string Rule { get; }
}

/// <summary>
/// A validated, immutable log of decisions for off-policy evaluation, stored by column with contexts and arms numbered in
/// order of first appearance. Build it with <see cref="Builder"/> or <see cref="Create"/>.
/// </summary>
public sealed class DecisionLog
{
    private readonly int[] _contexts;
    private readonly int[] _arms;
    private readonly double[] _propensities;
    private readonly byte[] _rewards;

    private DecisionLog(int[] contexts, int[] arms, double[] propensities, byte[] rewards, ImmutableArray<string> contextKeys, ImmutableArray<DecisionArm> armKeys)
    {
        _contexts = contexts;
        _arms = arms;
        _propensities = propensities;
        _rewards = rewards;
        Contexts = contextKeys;
        Arms = armKeys;
        long clicks = 0;
        foreach (var r in rewards)
        {
            clicks += r;
        }

        Responses = clicks;
    }

    /// <summary>The number of rounds.</summary>
    public int Count => _arms.Length;

    /// <summary>The number of rounds with a response.</summary>
    public long Responses { get; }

    /// <summary>The mean reward of the logging policy itself (its on-policy value): responses / rounds.</summary>
    public double MeanReward => Count == 0 ? 0 : (double)Responses / Count;

    /// <summary>The distinct contexts, numbered in order of first appearance.</summary>
    public ImmutableArray<string> Contexts { get; }

    /// <summary>The distinct arms, numbered in order of first appearance.</summary>
    public ImmutableArray<DecisionArm> Arms { get; }

    internal ReadOnlySpan<int> ContextIndices => _contexts;

    internal ReadOnlySpan<int> ArmIndices => _arms;

    internal ReadOnlySpan<double> Propensities => _propensities;

    internal ReadOnlySpan<byte> Rewards => _rewards;

    /// <summary>Round <paramref name="index"/>.</summary>
    /// <param name="index">The round, from 0.</param>
    /// <returns>The round.</returns>
    public LoggedDecision this[int index]
    {
        get
        {
            var arm = Arms[_arms[index]];
            return new LoggedDecision(Contexts[_contexts[index]], arm.Action, arm.Channel, _propensities[index], _rewards[index]);
        }
    }

    /// <summary>Builds a log from rounds, validating each.</summary>
    /// <param name="decisions">The rounds.</param>
    /// <returns>The log.</returns>
    /// <exception cref="DecisionLogException">A round breaks a rule; the exception names its 1-based row.</exception>
    public static DecisionLog Create(IEnumerable<LoggedDecision> decisions)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        var builder = new Builder();
        foreach (var d in decisions)
        {
            builder.Add(d);
        }

        return builder.Build();
    }

    /// <summary>Accumulates validated rounds. Not thread-safe.</summary>
    public sealed class Builder
    {
        private readonly List<int> _contexts = [];
        private readonly List<int> _arms = [];
        private readonly List<double> _propensities = [];
        private readonly List<byte> _rewards = [];
        private readonly Dictionary<string, int> _contextIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<DecisionArm, int> _armIndex = [];
        private readonly List<string> _contextKeys = [];
        private readonly List<DecisionArm> _armKeys = [];

        /// <summary>The number of rounds added.</summary>
        public int Count => _arms.Count;

        /// <summary>Adds a round.</summary>
        /// <param name="decision">The round.</param>
        /// <param name="line">The line of the source file, for errors; the 1-based row when <see langword="null"/>.</param>
        /// <returns>This builder.</returns>
        /// <exception cref="DecisionLogException">The context or action is empty, the propensity is not in (0, 1], or the reward is not 0 or 1.</exception>
        public Builder Add(in LoggedDecision decision, long? line = null)
        {
            var where = line ?? (Count + 1L);
            if (string.IsNullOrEmpty(decision.Context))
            {
                throw new DecisionLogException(where, "context", decision.Context, "must not be empty");
            }

            if (string.IsNullOrEmpty(decision.Action))
            {
                throw new DecisionLogException(where, "action", decision.Action, "must not be empty");
            }

            if (!(decision.Propensity > 0 && decision.Propensity <= 1))
            {
                throw new DecisionLogException(where, "propensity", decision.Propensity.ToString("R", CultureInfo.InvariantCulture), "must be in (0, 1]: a logged choice probability");
            }

            if (decision.Reward is not (0 or 1))
            {
                throw new DecisionLogException(where, "reward", decision.Reward.ToString("R", CultureInfo.InvariantCulture), "must be 0 or 1");
            }

            if (!_contextIndex.TryGetValue(decision.Context, out var context))
            {
                context = _contextKeys.Count;
                _contextIndex.Add(decision.Context, context);
                _contextKeys.Add(decision.Context);
            }

            var key = new DecisionArm(decision.Action, decision.Channel);
            if (!_armIndex.TryGetValue(key, out var arm))
            {
                arm = _armKeys.Count;
                _armIndex.Add(key, arm);
                _armKeys.Add(key);
            }

            _contexts.Add(context);
            _arms.Add(arm);
            _propensities.Add(decision.Propensity);
            _rewards.Add((byte)decision.Reward);
            return this;
        }

        /// <summary>The log of the rounds added so far.</summary>
        /// <returns>The log.</returns>
        public DecisionLog Build() => new([.. _contexts], [.. _arms], [.. _propensities], [.. _rewards], [.. _contextKeys], [.. _armKeys]);
    }
}
