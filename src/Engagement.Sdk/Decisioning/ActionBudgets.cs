using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The volume budgets of actions across customers: how much of each action's budget is used per period. Reservation is atomic
/// in every implementation (one statement that increments only below the limit), so processes deciding at once never give
/// the action to more customers than its limit. Inside a unit of work, a reservation is kept or undone with the unit.
/// </summary>
public interface IActionBudgetStore
{
    /// <summary>How much of <paramref name="actionId"/>'s budget is used in the period starting at <paramref name="periodStart"/>.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="periodStart">The period's start (<see cref="ActionBudget.PeriodStart"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The number used (0 when none).</returns>
    ValueTask<long> GetUsedAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default);

    /// <summary>Uses one unit of the budget if fewer than <paramref name="limit"/> are used, atomically.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="periodStart">The period's start.</param>
    /// <param name="limit">The budget's limit (at least 0; 0 reserves nothing).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when a unit was reserved; <see langword="false"/> when the budget is used up.</returns>
    ValueTask<bool> TryReserveAsync(string actionId, DateTimeOffset periodStart, long limit, CancellationToken cancellationToken = default);

    /// <summary>Gives back one reserved unit (a decision that was not sent after all).</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="periodStart">The period's start.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when a unit was given back; <see langword="false"/> when none was used.</returns>
    ValueTask<bool> ReleaseAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default);
}

/// <summary>An in-memory <see cref="IActionBudgetStore"/>: thread-safe and atomic; its writes are undone with an in-memory unit of work.</summary>
public sealed class InMemoryActionBudgetStore : IActionBudgetStore, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string ActionId, long Period), long> _used = [];

    /// <inheritdoc />
    public ValueTask<long> GetUsedAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actionId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_used.GetValueOrDefault((actionId, periodStart.UtcTicks)));
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> TryReserveAsync(string actionId, DateTimeOffset periodStart, long limit, CancellationToken cancellationToken = default)
    {
        ActionBudgetChecks.Require(actionId, limit);
        cancellationToken.ThrowIfCancellationRequested();
        var key = (actionId, periodStart.UtcTicks);
        lock (_lock)
        {
            var used = _used.GetValueOrDefault(key);
            if (used >= limit)
            {
                return ValueTask.FromResult(false);
            }

            _used[key] = used + 1;
        }

        InMemoryTransactions.Record(this, new Change(key, +1), null, new Change(key, +1));
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<bool> ReleaseAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actionId);
        cancellationToken.ThrowIfCancellationRequested();
        var key = (actionId, periodStart.UtcTicks);
        lock (_lock)
        {
            var used = _used.GetValueOrDefault(key);
            if (used <= 0)
            {
                return ValueTask.FromResult(false);
            }

            _used[key] = used - 1;
        }

        InMemoryTransactions.Record(this, new Change(key, -1), null, new Change(key, -1));
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var change = (Change)written;
        lock (_lock)
        {
            _used[change.Key] = Math.Max(0, _used.GetValueOrDefault(change.Key) - change.Delta);
        }
    }

    private sealed record Change((string ActionId, long Period) Key, int Delta);
}

/// <summary>Argument checks shared by the budget stores.</summary>
public static class ActionBudgetChecks
{
    /// <summary>Checks the arguments of <see cref="IActionBudgetStore.TryReserveAsync"/>.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="limit">The limit.</param>
    /// <exception cref="EngagementValidationException">The action is missing or the limit negative.</exception>
    public static void Require(string actionId, long limit)
    {
        Text.RequireToken("actionId", actionId);
        if (limit < 0)
        {
            throw new EngagementValidationException("limit", limit, "a budget must not be negative");
        }
    }
}
