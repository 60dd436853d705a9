using System.Collections.Immutable;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// A set of conditions validated and compiled together, for evaluating them outside journeys (a segment, a test): it decides
/// what a customer's <see cref="EventWindows"/> keep, counts events into them, and evaluates each condition against a
/// profile, the counters and the consent state. Stage conditions need journeys and are evaluated by the journey orchestrator.
/// Immutable and thread-safe; the counters it makes are not.
/// </summary>
public sealed class ConditionSet
{
    private readonly CompiledCondition[] _compiled;
    private readonly EventWindowLayout _layout;
    private readonly IReadOnlyList<(Channels.Channel Channel, Purpose Purpose)> _consent;

    private ConditionSet(ImmutableArray<Condition> conditions, CompiledCondition[] compiled, EventWindowLayout layout, IReadOnlyList<(Channels.Channel, Purpose)> consent)
    {
        Conditions = conditions;
        _compiled = compiled;
        _layout = layout;
        _consent = consent;
    }

    /// <summary>The conditions, in order.</summary>
    public ImmutableArray<Condition> Conditions { get; }

    /// <summary>Validates and compiles conditions.</summary>
    /// <param name="schema">What they may name.</param>
    /// <param name="conditions">The conditions; the JSON path of the i-th is <c>$[i]</c>.</param>
    /// <returns>The set.</returns>
    /// <exception cref="EngagementValidationException">A condition breaks a rule.</exception>
    public static ConditionSet Create(ConditionSchema schema, IEnumerable<Condition> conditions)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(conditions);
        var list = conditions.ToImmutableArray();
        var compiler = new ConditionCompiler(schema, [.. schema.Journeys.Keys.Order(StringComparer.Ordinal)]);
        for (var i = 0; i < list.Length; i++)
        {
            ConditionValidator.Validate(list[i], schema, $"$[{i}]");
            compiler.Require(list[i]);
        }

        var compiled = list.Select(c => compiler.Compile(c, schema.CurrentJourney)).ToArray();
        return new ConditionSet(list, compiled, compiler.Layout, compiler.ConsentFacts);
    }

    /// <summary>Empty counters for one customer.</summary>
    /// <returns>The counters.</returns>
    public EventWindows NewWindows() => new(_layout);

    /// <summary>Counts an event into a customer's counters (events of keys no condition counts are ignored).</summary>
    /// <param name="windows">The counters (made by <see cref="NewWindows"/>).</param>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="now">The instant it is counted at (older buckets are dropped as of then).</param>
    /// <returns>Whether it was counted.</returns>
    public bool Record(EventWindows windows, EngagementEvent engagementEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(engagementEvent);
        return Bind(windows).Record(engagementEvent, now.UtcTicks);
    }

    /// <summary>Evaluates the <paramref name="index"/>-th condition.</summary>
    /// <param name="index">The condition's index.</param>
    /// <param name="profile">The profile.</param>
    /// <param name="windows">The customer's counters.</param>
    /// <param name="now">The instant.</param>
    /// <param name="consent">The customer's consent state, when a condition tests consent.</param>
    /// <returns>Whether it holds.</returns>
    public bool Evaluate(int index, CustomerProfile profile, EventWindows windows, DateTimeOffset now, ConsentState? consent = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var context = new ConditionContext(profile, Bind(windows), [], ConsentFacts(profile, consent, now), now.UtcTicks);
        return _compiled[index].Evaluate(context);
    }

    /// <summary>
    /// When the <paramref name="index"/>-th condition may next change its value with no new event (a counted event leaving its
    /// window), or <see langword="null"/> when only an event can change it.
    /// </summary>
    /// <param name="index">The condition's index.</param>
    /// <param name="profile">The profile.</param>
    /// <param name="windows">The customer's counters.</param>
    /// <param name="now">The instant.</param>
    /// <returns>The instant (UTC), or <see langword="null"/>.</returns>
    public DateTimeOffset? NextChange(int index, CustomerProfile profile, EventWindows windows, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var context = new ConditionContext(profile, Bind(windows), [], 0, now.UtcTicks);
        var next = _compiled[index].NextChange(context);
        return next == long.MaxValue ? null : new DateTimeOffset(next, TimeSpan.Zero);
    }

    private EventWindows Bind(EventWindows windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return windows.Layout == _layout ? windows : throw new ArgumentException("The counters were not made by this condition set (NewWindows).", nameof(windows));
    }

    private ulong ConsentFacts(CustomerProfile profile, ConsentState? consent, DateTimeOffset now)
    {
        ulong facts = 0;
        if (consent is null)
        {
            return facts;
        }

        for (var i = 0; i < _consent.Count; i++)
        {
            if (ConsentFact(profile, consent, _consent[i].Channel, _consent[i].Purpose, now))
            {
                facts |= 1UL << i;
            }
        }

        return facts;
    }

    /// <summary>Whether consent for <paramref name="purpose"/> on <paramref name="channel"/> is in force for the customer's address on that channel.</summary>
    internal static bool ConsentFact(CustomerProfile profile, ConsentState consent, Channels.Channel channel, Purpose purpose, DateTimeOffset now)
    {
        Channels.ChannelAddress.TryFind(profile, channel, out var address);
        return consent.Evaluate(channel, purpose, address, now).IsAllowed;
    }
}
