using System.Collections.Immutable;
using System.Numerics;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// What conditions are evaluated against: the profile, the customer's windowed event counters, the stage the customer is in
/// in each journey (by journey index: -1 when not in it), the consent facts (one bit per consent condition), and the instant.
/// </summary>
internal readonly ref struct ConditionContext
{
    public ConditionContext(CustomerProfile profile, EventWindows windows, ReadOnlySpan<short> stageKeys, ulong consent, long now)
    {
        Profile = profile;
        Windows = windows;
        StageKeys = stageKeys;
        Consent = consent;
        Now = now;
    }

    public CustomerProfile Profile { get; }

    public EventWindows Windows { get; }

    public ReadOnlySpan<short> StageKeys { get; }

    public ulong Consent { get; }

    /// <summary>The instant, in UTC ticks.</summary>
    public long Now { get; }
}

/// <summary>A condition ready to evaluate: no allocation, no I/O.</summary>
internal abstract class CompiledCondition
{
    /// <summary>Whether the condition holds.</summary>
    public abstract bool Evaluate(in ConditionContext context);

    /// <summary>
    /// The earliest instant after <see cref="ConditionContext.Now"/> (UTC ticks) at which the condition may change its value
    /// with no new event (a windowed event leaving its window); <see cref="long.MaxValue"/> when only an event can change it.
    /// It may be early (nothing changes then; ask again), never late.
    /// </summary>
    public virtual long NextChange(in ConditionContext context) => long.MaxValue;

    // Generic so that a count is compared with a whole threshold as integers, and an amount as a decimal.
    internal static bool Compare<T>(T actual, ComparisonOperator op, T threshold)
        where T : IComparisonOperators<T, T, bool> => op switch
    {
        ComparisonOperator.Eq => actual == threshold,
        ComparisonOperator.Ne => actual != threshold,
        ComparisonOperator.Gt => actual > threshold,
        ComparisonOperator.Ge => actual >= threshold,
        ComparisonOperator.Lt => actual < threshold,
        _ => actual <= threshold,
    };
}

internal sealed class ConstantNode(bool value) : CompiledCondition
{
    public static readonly ConstantNode True = new(true);

    public static readonly ConstantNode False = new(false);

    public override bool Evaluate(in ConditionContext context) => value;
}

internal sealed class AllNode(CompiledCondition[] items) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        foreach (var item in items)
        {
            if (!item.Evaluate(context))
            {
                return false;
            }
        }

        return true;
    }

    public override long NextChange(in ConditionContext context)
    {
        var next = long.MaxValue;
        foreach (var item in items)
        {
            next = Math.Min(next, item.NextChange(context));
        }

        return next;
    }
}

internal sealed class AnyNode(CompiledCondition[] items) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        foreach (var item in items)
        {
            if (item.Evaluate(context))
            {
                return true;
            }
        }

        return false;
    }

    public override long NextChange(in ConditionContext context)
    {
        var next = long.MaxValue;
        foreach (var item in items)
        {
            next = Math.Min(next, item.NextChange(context));
        }

        return next;
    }
}

internal sealed class NotNode(CompiledCondition inner) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context) => !inner.Evaluate(context);

    public override long NextChange(in ConditionContext context) => inner.NextChange(context);
}

internal sealed class TraitNode(string trait, TraitKind kind, TraitOperator op, TraitValue[] operands) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        var present = context.Profile.Traits.TryGetValue(trait, out var value) && value.Kind == kind;
        if (op == TraitOperator.Exists)
        {
            return present == operands[0].AsBoolean();
        }

        if (!present)
        {
            return false;
        }

        switch (op)
        {
            case TraitOperator.Eq:
                return value.Equals(operands[0]);
            case TraitOperator.Ne:
                return !value.Equals(operands[0]);
            case TraitOperator.In:
                foreach (var operand in operands)
                {
                    if (value.Equals(operand))
                    {
                        return true;
                    }
                }

                return false;
            case TraitOperator.Contains:
                var wanted = operands[0].AsString();
                foreach (var item in value.AsList())
                {
                    if (string.Equals(item, wanted, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                return false;
            default:
                var order = kind == TraitKind.Number ? value.AsNumber().CompareTo(operands[0].AsNumber()) : value.AsDate().CompareTo(operands[0].AsDate());
                return op switch
                {
                    TraitOperator.Gt => order > 0,
                    TraitOperator.Ge => order >= 0,
                    TraitOperator.Lt => order < 0,
                    _ => order <= 0,
                };
        }
    }
}

// A count (every aggregate but the three amounts of money) compared with a whole number is compared as an integer: the same
// answer as the decimal comparison, without converting the count on every evaluation.
internal sealed class AggregateNode : CompiledCondition
{
    private readonly ProfileAggregate _aggregate;
    private readonly ComparisonOperator _op;
    private readonly decimal _threshold;
    private readonly bool _wholeCount;
    private readonly long _whole;

    public AggregateNode(ProfileAggregate aggregate, ComparisonOperator op, decimal threshold)
    {
        _aggregate = aggregate;
        _op = op;
        _threshold = threshold;
        _wholeCount = aggregate is not (ProfileAggregate.Revenue or ProfileAggregate.NetRevenue or ProfileAggregate.Refunds)
            && threshold == decimal.Truncate(threshold) && threshold >= long.MinValue && threshold <= long.MaxValue;
        _whole = _wholeCount ? (long)threshold : 0;
    }

    public override bool Evaluate(in ConditionContext context)
        => _wholeCount
            ? Compare((long)Count(context.Profile.Behaviour), _op, _whole)
            : Compare(Value(context.Profile.Behaviour), _op, _threshold);

    private decimal Value(BehaviourAggregates b) => _aggregate switch
    {
        ProfileAggregate.Revenue => b.Revenue?.Amount ?? 0m,
        ProfileAggregate.NetRevenue => b.NetRevenue?.Amount ?? 0m,
        ProfileAggregate.Refunds => b.Refunds?.Amount ?? 0m,
        _ => Count(b),
    };

    // The aggregates that are counts.
    private int Count(BehaviourAggregates b)
    {
        switch (_aggregate)
        {
            case ProfileAggregate.Orders: return b.Orders;
            case ProfileAggregate.ProductViews: return b.ProductViews;
            case ProfileAggregate.PageViews: return b.PageViews;
            case ProfileAggregate.Searches: return b.Searches;
            case ProfileAggregate.ItemsInCart: return b.ItemsInCart.Count;
            case ProfileAggregate.ItemsBought: return b.ItemsBoughtCount;
            case ProfileAggregate.ItemsViewed: return b.ItemsViewed.Count;
            case ProfileAggregate.CategoriesBought: return b.CategoriesBought.Count;
            case ProfileAggregate.OrdersKept:
                var kept = 0;
                foreach (var order in b.RefundableByOrder)
                {
                    if (order.Value.Amount > 0m)
                    {
                        kept++;
                    }
                }

                return kept;
            case ProfileAggregate.MessagesSent:
                var sent = 0;
                foreach (var count in b.MessagesSent.Values)
                {
                    sent += count;
                }

                return sent;
            default:
                var engaged = 0;
                foreach (var count in b.Engagements.Values)
                {
                    engaged += count;
                }

                return engaged;
        }
    }
}

internal sealed class IdentifierNode(IdentifierKind[] kinds) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        foreach (var identifier in context.Profile.Identifiers)
        {
            foreach (var kind in kinds)
            {
                if (identifier.Kind == kind)
                {
                    return true;
                }
            }
        }

        return false;
    }
}

internal sealed class ConsentNode(int bit) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context) => ((context.Consent >> bit) & 1UL) != 0;
}

internal sealed class StageNode(int journey, ulong mask, bool anyStage) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        var key = journey < context.StageKeys.Length ? context.StageKeys[journey] : (short)-1;
        return key >= 0 && (anyStage || ((mask >> key) & 1UL) != 0);
    }
}

/// <summary>A count decided exactly from the most recent timestamps kept (enough of them for the threshold).</summary>
internal sealed class RingCountNode(int slot, long window, ComparisonOperator op, int threshold) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
        => Compare(context.Windows.RingCount(slot, context.Now - window), op, threshold);

    // The count crosses the threshold when the threshold-th or the (threshold + 1)-th most recent event leaves the window.
    public override long NextChange(in ConditionContext context)
    {
        var start = context.Now - window;
        return Math.Min(context.Windows.RingLeaves(slot, threshold - 1, start, window), context.Windows.RingLeaves(slot, threshold, start, window));
    }
}

/// <summary>A count or sum over the buckets of the window.</summary>
internal sealed class BucketNode(int slot, long window, EventMeasure measure, ComparisonOperator op, decimal threshold) : CompiledCondition
{
    public override bool Evaluate(in ConditionContext context)
    {
        var (count, sum) = context.Windows.BucketTotals(slot, context.Now - window);
        return Compare(measure == EventMeasure.Count ? count : sum, op, threshold);
    }

    public override long NextChange(in ConditionContext context) => context.Windows.BucketLeaves(slot, context.Now - window, window);
}

/// <summary>
/// Compiles validated conditions for evaluation: first every condition of a set is registered (<see cref="Require"/>), which
/// decides what the counters keep (<see cref="Layout"/>) and which consent facts are needed; then each is compiled.
/// </summary>
internal sealed class ConditionCompiler
{
    private static readonly long Hour = TimeSpan.TicksPerHour;
    private static readonly long Day = TimeSpan.TicksPerDay;

    private readonly ConditionSchema _schema;
    private readonly ImmutableArray<string> _journeys;
    private readonly Dictionary<string, Need> _needs = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];
    private readonly List<(Channel Channel, Purpose Purpose)> _consent = [];
    private EventWindowLayout? _layout;

    /// <summary>Creates a compiler.</summary>
    /// <param name="schema">The schema the conditions were validated against (its journeys give stage keys).</param>
    /// <param name="journeys">The journeys in index order (the order of <see cref="ConditionContext.StageKeys"/>).</param>
    public ConditionCompiler(ConditionSchema schema, ImmutableArray<string> journeys)
    {
        _schema = schema;
        _journeys = journeys;
    }

    /// <summary>The consent facts evaluation needs, one bit each, in order.</summary>
    public IReadOnlyList<(Channel Channel, Purpose Purpose)> ConsentFacts => _consent;

    /// <summary>What the counters keep, fixed once every condition is registered.</summary>
    public EventWindowLayout Layout => _layout ??= BuildLayout();

    /// <summary>Registers what <paramref name="condition"/> needs counted.</summary>
    public void Require(Condition condition)
    {
        if (_layout is not null)
        {
            throw new InvalidOperationException("The counters' layout is fixed: register every condition before compiling any.");
        }

        switch (condition)
        {
            case AllCondition all:
                foreach (var item in all.Conditions)
                {
                    Require(item);
                }

                break;
            case AnyCondition any:
                foreach (var item in any.Conditions)
                {
                    Require(item);
                }

                break;
            case NotCondition not:
                Require(not.Inner);
                break;
            case ConsentCondition consent:
                if (!_consent.Contains((consent.Channel, consent.Purpose)))
                {
                    if (_consent.Count == 64)
                    {
                        throw new EngagementValidationException("consent", consent.Channel.Name, "conditions may test at most 64 channel and purpose pairs in all");
                    }

                    _consent.Add((consent.Channel, consent.Purpose));
                }

                break;
            case EventCondition windowed:
                if (!_needs.TryGetValue(windowed.EventType, out var need))
                {
                    _keys.Add(windowed.EventType);
                    need = new Need();
                }

                var window = windowed.Within.Ticks;
                need.Horizon = Math.Max(need.Horizon, window);
                var ring = windowed.Measure == EventMeasure.Count ? RingFor(windowed.Operator, (int)windowed.Value) : int.MaxValue;
                if (ring <= EventWindowLayout.MaxRing)
                {
                    need.Ring = Math.Max(need.Ring, ring);
                }
                else
                {
                    need.ShortestBucketed = Math.Min(need.ShortestBucketed, window);
                }

                _needs[windowed.EventType] = need;
                break;
        }
    }

    /// <summary>Compiles a validated condition.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="currentJourney">The journey a stage condition without a journey id refers to.</param>
    /// <returns>The compiled condition.</returns>
    public CompiledCondition Compile(Condition condition, string? currentJourney)
    {
        var layout = Layout;
        switch (condition)
        {
            case ConstantCondition constant:
                return constant.Value ? ConstantNode.True : ConstantNode.False;
            case AllCondition all:
                return all.Conditions.Length == 1 ? Compile(all.Conditions[0], currentJourney) : new AllNode([.. all.Conditions.Select(c => Compile(c, currentJourney))]);
            case AnyCondition any:
                return any.Conditions.Length == 1 ? Compile(any.Conditions[0], currentJourney) : new AnyNode([.. any.Conditions.Select(c => Compile(c, currentJourney))]);
            case NotCondition not:
                return new NotNode(Compile(not.Inner, currentJourney));
            case TraitCondition trait:
                return new TraitNode(trait.Name, _schema.Traits[trait.Name], trait.Operator, [.. trait.Operands]);
            case AggregateCondition aggregate:
                return new AggregateNode(aggregate.Field, aggregate.Operator, aggregate.Value);
            case IdentifierCondition identifier:
                return new IdentifierNode([.. identifier.Kinds]);
            case ConsentCondition consent:
                var bit = _consent.IndexOf((consent.Channel, consent.Purpose));
                return bit >= 0 ? new ConsentNode(bit) : throw new InvalidOperationException("A consent condition was compiled without being registered.");
            case StageCondition stage:
                var journeyId = stage.JourneyId ?? currentJourney ?? throw new InvalidOperationException("A stage condition names no journey.");
                var journey = _journeys.IndexOf(journeyId, 0, StringComparer.Ordinal);
                var ids = _schema.Journeys[journeyId];
                ulong mask = 0;
                foreach (var id in stage.Stages.IsDefault ? [] : stage.Stages)
                {
                    mask |= 1UL << ids.IndexOf(id, 0, StringComparer.Ordinal);
                }

                return new StageNode(journey, mask, stage.Stages.IsDefaultOrEmpty);
            case EventCondition windowed:
                var slot = layout.SlotOf(windowed.EventType);
                var threshold = (int)Math.Min(windowed.Value, int.MaxValue);
                return windowed.Measure == EventMeasure.Count && RingFor(windowed.Operator, threshold) <= layout.RingCapacity[slot]
                    ? new RingCountNode(slot, windowed.Within.Ticks, windowed.Operator, threshold)
                    : new BucketNode(slot, windowed.Within.Ticks, windowed.Measure, windowed.Operator, windowed.Value);
            default:
                throw new ArgumentOutOfRangeException(nameof(condition), condition.GetType().Name, "not a condition of the language");
        }
    }

    // How many of the most recent timestamps decide a count compared with `threshold` exactly.
    private static int RingFor(ComparisonOperator op, int threshold) => op switch
    {
        ComparisonOperator.Ge or ComparisonOperator.Lt => threshold,
        _ => threshold == int.MaxValue ? int.MaxValue : threshold + 1,
    };

    private EventWindowLayout BuildLayout()
    {
        var rings = new List<int>();
        var widths = new List<long>();
        var horizons = new List<long>();
        foreach (var key in _keys)
        {
            var need = _needs[key];
            rings.Add(need.Ring);
            widths.Add(need.ShortestBucketed == long.MaxValue ? 0 : need.ShortestBucketed <= 2 * Day ? Hour : Day);
            horizons.Add(need.Horizon);
        }

        return new EventWindowLayout(_keys, rings, widths, horizons);
    }

    private struct Need
    {
        public Need()
        {
        }

        public int Ring { get; set; }

        public long ShortestBucketed { get; set; } = long.MaxValue;

        public long Horizon { get; set; }
    }
}
