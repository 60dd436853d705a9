using System.Collections.Immutable;

namespace Engagement.Sdk.Decisioning;

/// <summary>One candidate of a catalogue: an action (its index among the catalogue's actions ordered by id), a channel and a treatment (-1 for none).</summary>
internal readonly record struct CatalogArm(int Action, Channels.Channel Channel, int Treatment);

/// <summary>
/// The actions a decision chooses from, validated as a whole. Immutable and thread-safe. A do-nothing action is always
/// present (<see cref="NoAction"/>).
/// </summary>
public sealed class ActionCatalog
{
    /// <summary>The id of the built-in do-nothing action.</summary>
    public const string NoActionId = "no_action";

    private readonly Dictionary<string, ActionDefinition> _byId;

    private ActionCatalog(ImmutableArray<ActionDefinition> actions)
    {
        Actions = actions;
        _byId = actions.ToDictionary(a => a.Id, StringComparer.Ordinal);

        // The candidates a decision weighs: every action (in the order of their ids, so ties break the same way everywhere) ×
        // each of its channels × each treatment offered on that channel.
        var sorted = actions.Where(static a => a.Kind != ActionKind.NoAction).OrderBy(static a => a.Id, StringComparer.Ordinal).ToArray();
        var arms = new List<CatalogArm>();
        var first = new int[sorted.Length + 1];
        for (var a = 0; a < sorted.Length; a++)
        {
            first[a] = arms.Count;
            var action = sorted[a];
            foreach (var channel in action.Channels)
            {
                if (action.Treatments.IsDefaultOrEmpty)
                {
                    arms.Add(new CatalogArm(a, channel, -1));
                    continue;
                }

                for (var t = 0; t < action.Treatments.Length; t++)
                {
                    var treatment = action.Treatments[t];
                    if (treatment.Channels.IsDefaultOrEmpty || treatment.Channels.Contains(channel))
                    {
                        arms.Add(new CatalogArm(a, channel, t));
                    }
                }
            }
        }

        first[sorted.Length] = arms.Count;
        Ordered = sorted;
        Arms = [.. arms];
        var channels = new List<Channels.Channel>();
        ArmChannel = new int[Arms.Length];
        for (var i = 0; i < Arms.Length; i++)
        {
            var c = channels.IndexOf(Arms[i].Channel);
            if (c < 0)
            {
                c = channels.Count;
                channels.Add(Arms[i].Channel);
            }

            ArmChannel[i] = c;
        }

        DistinctChannels = [.. channels];
        var lookBack = TimeSpan.Zero;
        foreach (var action in sorted)
        {
            if (action.ContactPolicy is { } policy && policy.LookBack > lookBack)
            {
                lookBack = policy.LookBack;
            }

            HasBudgets |= action.Budget is not null;
            NeedsCustomerValue |= action.CustomerValueShare > 0;
            HasControlGroups |= action.ControlShare > 0;
        }

        ContactLookBack = lookBack;
        FirstArm = first;
        _indexById = new Dictionary<string, int>(sorted.Length, StringComparer.Ordinal);
        for (var a = 0; a < sorted.Length; a++)
        {
            _indexById[sorted[a].Id] = a;
        }
    }

    private readonly Dictionary<string, int> _indexById;

    /// <summary>The actions a decision weighs (without do-nothing), ordered by id.</summary>
    internal ActionDefinition[] Ordered { get; }

    /// <summary>Every candidate: action (an index into <see cref="Ordered"/>) × channel × treatment, grouped by action.</summary>
    internal CatalogArm[] Arms { get; }

    /// <summary>The first candidate of each action in <see cref="Arms"/>; one more entry holds the number of candidates.</summary>
    internal int[] FirstArm { get; }

    /// <summary>The distinct channels of the candidates.</summary>
    internal Channels.Channel[] DistinctChannels { get; }

    /// <summary>For each candidate, the index of its channel in <see cref="DistinctChannels"/>.</summary>
    internal int[] ArmChannel { get; }

    /// <summary>How far back a decision must read contact histories (the longest look-back of the actions' contact policies).</summary>
    internal TimeSpan ContactLookBack { get; }

    /// <summary>Whether any action has a volume budget.</summary>
    internal bool HasBudgets { get; }

    /// <summary>Whether any action adds a share of the customer's value.</summary>
    internal bool NeedsCustomerValue { get; }

    /// <summary>Whether any action has a control group.</summary>
    internal bool HasControlGroups { get; }

    /// <summary>The index of an action in <see cref="Ordered"/>, or -1.</summary>
    internal int IndexOf(string actionId) => _indexById.TryGetValue(actionId, out var index) ? index : -1;

    /// <summary>The index of the candidate for <paramref name="actionId"/> on <paramref name="channel"/> with <paramref name="treatmentId"/>, or -1.</summary>
    internal int ArmOf(string actionId, Channels.Channel channel, string? treatmentId)
    {
        var a = IndexOf(actionId);
        if (a < 0)
        {
            return -1;
        }

        var action = Ordered[a];
        for (var i = FirstArm[a]; i < FirstArm[a + 1]; i++)
        {
            var arm = Arms[i];
            if (arm.Channel == channel && (arm.Treatment < 0 ? string.IsNullOrEmpty(treatmentId) : action.Treatments[arm.Treatment].Id == treatmentId))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The built-in do-nothing action.</summary>
    public static ActionDefinition NoAction { get; } = new() { Id = NoActionId, Name = "Do nothing", Kind = ActionKind.NoAction, Value = 0m, BasePropensity = 1.0 };

    /// <summary>An empty catalogue: every decision is "do nothing".</summary>
    public static ActionCatalog Empty { get; } = Create([]); // after NoAction: static initialisers run in order.

    /// <summary>Every action, the do-nothing action last.</summary>
    public ImmutableArray<ActionDefinition> Actions { get; }

    /// <summary>Finds an action by id.</summary>
    /// <param name="id">The id.</param>
    /// <param name="action">The action.</param>
    /// <returns>Whether it exists.</returns>
    public bool TryGet(string id, out ActionDefinition action) => _byId.TryGetValue(id, out action!);

    /// <summary>The longest an action may be held (<see cref="ActionDefinition.HoldFor"/>).</summary>
    public static TimeSpan MaxHoldFor => TimeSpan.FromDays(30);

    /// <summary>Creates a catalogue, validating every action and the whole.</summary>
    /// <param name="actions">The actions (ids unique; do not include the do-nothing action, it is added).</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="EngagementValidationException">An action breaks a rule.</exception>
    public static ActionCatalog Create(IEnumerable<ActionDefinition> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        var list = ImmutableArray.CreateBuilder<ActionDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var action in actions)
        {
            var at = $"actions[{i++}]";
            if (action is null)
            {
                throw new EngagementValidationException(at, null, "must not be null");
            }

            Text.RequireToken(at + ".id", action.Id);
            if (!ids.Add(action.Id) || action.Id == NoActionId)
            {
                throw new EngagementValidationException(at + ".id", action.Id, "action ids must be unique and not the reserved 'no_action'");
            }

            Text.RequireToken(at + ".name", action.Name, 256);
            if (action.Kind == ActionKind.NoAction)
            {
                throw new EngagementValidationException(at + ".kind", action.Kind, "the do-nothing action is built in");
            }

            if (action.Channels.IsDefaultOrEmpty)
            {
                throw new EngagementValidationException(at + ".channels", action.Id, "an action needs at least one channel");
            }

            if (action.Purpose.IsEmpty)
            {
                throw new EngagementValidationException(at + ".purpose", action.Id, "an action needs a purpose");
            }

            if (action.Purpose.IsTransactional && action.Kind is ActionKind.Offer or ActionKind.ProductRecommendation)
            {
                throw new EngagementValidationException(at + ".purpose", action.Id, $"an action declared transactional must not carry marketing content ({action.Kind}); declare it marketing, or make it a service message");
            }

            if (action.Value < 0m)
            {
                throw new EngagementValidationException(at + ".value", action.Value, "must not be negative");
            }

            if (!(action.BasePropensity > 0 && action.BasePropensity <= 1))
            {
                throw new EngagementValidationException(at + ".basePropensity", action.BasePropensity, "must be in (0, 1]");
            }

            if (!(action.Lever >= 0 && double.IsFinite(action.Lever)))
            {
                throw new EngagementValidationException(at + ".lever", action.Lever, "must be a finite number, at least 0");
            }

            if (action.HoldFor is { } hold && (hold <= TimeSpan.Zero || hold > MaxHoldFor))
            {
                throw new EngagementValidationException(at + ".holdFor", hold, "must be more than zero and at most 30 days");
            }

            if (action.ProductId is not null)
            {
                Text.RequireToken(at + ".productId", action.ProductId);
            }

            ValidatePolicies(at, action);

            if (action.MessageType is not null)
            {
                Names.Require(at + ".messageType", action.MessageType);
            }

            list.Add(action);
        }

        list.Add(NoAction);
        return new ActionCatalog(list.ToImmutable());
    }

    // The rules of the pipeline's parts of an action: validity, cost, treatments, rules, guards, contact policy, budget, boosts.
    private static void ValidatePolicies(string at, ActionDefinition action)
    {
        var channels = new HashSet<Channels.Channel>();
        foreach (var channel in action.Channels)
        {
            if (channel.IsEmpty || !channels.Add(channel))
            {
                throw new EngagementValidationException(at + ".channels", channel.Name, "channels must be named and listed once each");
            }
        }

        if (action.ValidFrom is { } from && action.ValidUntil is { } until && until <= from)
        {
            throw new EngagementValidationException(at + ".validUntil", until.ToString("O", System.Globalization.CultureInfo.InvariantCulture), $"must be after validFrom ({from:O})");
        }

        if (action.Cost < 0m)
        {
            throw new EngagementValidationException(at + ".cost", action.Cost, "must not be negative");
        }

        if (!(action.CustomerValueShare >= 0) || !double.IsFinite(action.CustomerValueShare))
        {
            throw new EngagementValidationException(at + ".customerValueShare", action.CustomerValueShare, "must be a finite number, at least 0");
        }

        if (!(action.ControlShare >= 0 && action.ControlShare < 1))
        {
            throw new EngagementValidationException(at + ".controlShare", action.ControlShare, "must be in [0, 1)");
        }

        if (action.Group is not null)
        {
            Text.RequireToken(at + ".group", action.Group);
        }

        if (!Enum.IsDefined(action.InCart))
        {
            throw new EngagementValidationException(at + ".inCart", action.InCart, "must be Exclude, Require or Ignore");
        }

        if (action.InCart == InCartRule.Require && action.ProductId is null)
        {
            throw new EngagementValidationException(at + ".inCart", action.InCart, "an action that requires its product in the cart needs a productId");
        }

        if (action.PurchaseCooldown is { } cooldown && cooldown <= TimeSpan.Zero)
        {
            throw new EngagementValidationException(at + ".purchaseCooldown", cooldown, "must be more than zero when set");
        }

        if (action.ReplenishAfter is { } replenish)
        {
            if (replenish <= TimeSpan.Zero)
            {
                throw new EngagementValidationException(at + ".replenishAfter", replenish, "must be more than zero when set");
            }

            if (action.ProductId is null)
            {
                throw new EngagementValidationException(at + ".replenishAfter", replenish, "a replenishment window needs a productId");
            }
        }

        var treatments = new HashSet<string>(StringComparer.Ordinal);
        for (var t = 0; t < (action.Treatments.IsDefault ? 0 : action.Treatments.Length); t++)
        {
            var treatment = action.Treatments[t];
            var where = $"{at}.treatments[{t}]";
            if (treatment is null)
            {
                throw new EngagementValidationException(where, null, "must not be null");
            }

            Text.RequireToken(where + ".id", treatment.Id);
            if (!treatments.Add(treatment.Id))
            {
                throw new EngagementValidationException(where + ".id", treatment.Id, "treatment ids must be unique within the action");
            }

            foreach (var channel in treatment.Channels.IsDefault ? [] : treatment.Channels)
            {
                if (!channels.Contains(channel))
                {
                    throw new EngagementValidationException(where + ".channels", channel.Name, "a treatment's channels must be channels of its action");
                }
            }

            if (!(treatment.Lever >= 0) || !double.IsFinite(treatment.Lever))
            {
                throw new EngagementValidationException(where + ".lever", treatment.Lever, "must be a finite number, at least 0");
            }

            if (treatment.Value is < 0m)
            {
                throw new EngagementValidationException(where + ".value", treatment.Value, "must not be negative");
            }
        }

        if (!action.Treatments.IsDefaultOrEmpty && !action.Channels.Any(c => action.Treatments.Any(t => t.Channels.IsDefaultOrEmpty || t.Channels.Contains(c))))
        {
            throw new EngagementValidationException(at + ".treatments", action.Id, "at least one treatment must be offered on one of the action's channels");
        }

        ValidateRules(at + ".suitability", action.Suitability);

        if (action.ContactPolicy is { } policy)
        {
            if (policy.MaxSends is < 1)
            {
                throw new EngagementValidationException(at + ".contactPolicy.maxSends", policy.MaxSends, "must be at least 1 when set");
            }

            if (policy.Window < TimeSpan.FromMinutes(1) || policy.Window > TimeSpan.FromDays(366))
            {
                throw new EngagementValidationException(at + ".contactPolicy.window", policy.Window, "must be from 1 minute to 366 days");
            }

            if (policy.MinGapAfterSend is { } gap && (gap <= TimeSpan.Zero || gap > TimeSpan.FromDays(366)))
            {
                throw new EngagementValidationException(at + ".contactPolicy.minGapAfterSend", gap, "must be more than zero and at most 366 days when set");
            }

            if (policy.MinGapAfterDismissal is { } dismissal && (dismissal <= TimeSpan.Zero || dismissal > TimeSpan.FromDays(366)))
            {
                throw new EngagementValidationException(at + ".contactPolicy.minGapAfterDismissal", dismissal, "must be more than zero and at most 366 days when set");
            }
        }

        if (action.Budget is { } budget)
        {
            if (budget.Limit < 0)
            {
                throw new EngagementValidationException(at + ".budget.limit", budget.Limit, "must not be negative");
            }

            if (!Enum.IsDefined(budget.Period))
            {
                throw new EngagementValidationException(at + ".budget.period", budget.Period, "must be Day, Week, Month or Total");
            }
        }

        for (var b = 0; b < (action.ContextBoosts.IsDefault ? 0 : action.ContextBoosts.Length); b++)
        {
            var boost = action.ContextBoosts[b];
            var where = $"{at}.contextBoosts[{b}]";
            if (boost is null)
            {
                throw new EngagementValidationException(where, null, "must not be null");
            }

            if (string.IsNullOrEmpty(boost.Key))
            {
                throw new EngagementValidationException(where + ".key", boost.Key, "must not be empty");
            }

            if (boost.Value is null)
            {
                throw new EngagementValidationException(where + ".value", null, "must not be null");
            }

            if (!double.IsFinite(boost.Percent))
            {
                throw new EngagementValidationException(where + ".percent", boost.Percent, "must be a finite number");
            }
        }
    }

    private static void ValidateRules(string at, ImmutableArray<CustomerRule> rules)
    {
        for (var r = 0; r < (rules.IsDefault ? 0 : rules.Length); r++)
        {
            var rule = rules[r];
            if (rule is null || rule.Test is null)
            {
                throw new EngagementValidationException($"{at}[{r}]", null, "a rule needs a test");
            }

            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                throw new EngagementValidationException($"{at}[{r}].name", rule.Name, "a rule needs a name, for explanations");
            }
        }
    }
}
