using System.Collections.Immutable;

namespace Engagement.Sdk.Decisioning;

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

            if (action.MessageType is not null)
            {
                Names.Require(at + ".messageType", action.MessageType);
            }

            list.Add(action);
        }

        list.Add(NoAction);
        return new ActionCatalog(list.ToImmutable());
    }
}
