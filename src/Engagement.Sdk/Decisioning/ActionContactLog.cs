using Engagement.Sdk.Channels;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>What happened between a customer and an action, for the action's contact policy.</summary>
public enum ActionContactKind
{
    /// <summary>The action was queued for the customer (counted whether or not it was delivered).</summary>
    Sent,

    /// <summary>The customer dismissed the action.</summary>
    Dismissed,
}

/// <summary>One entry of a customer's contact history with an action.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="ActionId">The action.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Kind">Sent or dismissed.</param>
/// <param name="At">When.</param>
/// <param name="DispatchId">The dispatch it concerns (an entry of one kind is recorded once per dispatch).</param>
public readonly record struct ActionContact(CustomerId CustomerId, string ActionId, Channel Channel, ActionContactKind Kind, DateTimeOffset At, string DispatchId);

/// <summary>
/// Each customer's contact history with the actions (queued sends and dismissals), which per-action contact policies are
/// checked against. Written in the unit of work of the event that caused it; read once per decision.
/// </summary>
public interface IActionContactLog
{
    /// <summary>Records <paramref name="contact"/> unless one of its kind was recorded for its dispatch before.</summary>
    /// <param name="contact">The contact.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was recorded now.</returns>
    ValueTask<bool> RecordAsync(ActionContact contact, CancellationToken cancellationToken = default);

    /// <summary>One customer's contacts at or after <paramref name="since"/>, oldest first (ties by dispatch id and kind).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The inclusive start.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The contacts.</returns>
    ValueTask<ReadOnlyMemory<ActionContact>> ReadAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default);
}

/// <summary>
/// An in-memory <see cref="IActionContactLog"/>: thread-safe; each customer's history is an immutable array replaced on write,
/// so reading it allocates nothing; writes are undone with an in-memory unit of work.
/// </summary>
public sealed class InMemoryActionContactLog : IActionContactLog, ISubjectErasure, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<CustomerId, ActionContact[]> _byCustomer = [];
    private readonly HashSet<(string DispatchId, ActionContactKind Kind)> _recorded = [];

    /// <inheritdoc />
    public ValueTask<bool> RecordAsync(ActionContact contact, CancellationToken cancellationToken = default)
    {
        ActionContactChecks.Require(contact);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_recorded.Add((contact.DispatchId, contact.Kind)))
            {
                return ValueTask.FromResult(false);
            }

            var current = _byCustomer.GetValueOrDefault(contact.CustomerId) ?? [];
            var next = new ActionContact[current.Length + 1];
            var at = current.Length;
            while (at > 0 && ActionContactChecks.Compare(current[at - 1], contact) > 0)
            {
                at--;
            }

            Array.Copy(current, next, at);
            next[at] = contact;
            Array.Copy(current, at, next, at + 1, current.Length - at);
            _byCustomer[contact.CustomerId] = next;
        }

        InMemoryTransactions.Record(this, contact.CustomerId, null, new Recorded(contact));
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<ActionContact>> ReadAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ActionContact[]? history;
        lock (_lock)
        {
            history = _byCustomer.GetValueOrDefault(customerId);
        }

        if (history is null)
        {
            return ValueTask.FromResult(ReadOnlyMemory<ActionContact>.Empty);
        }

        var first = 0;
        while (first < history.Length && history[first].At < since)
        {
            first++;
        }

        return ValueTask.FromResult(new ReadOnlyMemory<ActionContact>(history, first, history.Length - first));
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_byCustomer.Remove(customerId, out var history))
            {
                return ValueTask.FromResult(0);
            }

            foreach (var contact in history)
            {
                _recorded.Remove((contact.DispatchId, contact.Kind));
            }

            return ValueTask.FromResult(history.Length);
        }
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var contact = ((Recorded)written).Contact;
        lock (_lock)
        {
            if (!_recorded.Remove((contact.DispatchId, contact.Kind)) || !_byCustomer.TryGetValue(contact.CustomerId, out var current))
            {
                return;
            }

            var at = Array.LastIndexOf(current, contact);
            if (at < 0)
            {
                return;
            }

            if (current.Length == 1)
            {
                _byCustomer.Remove(contact.CustomerId);
                return;
            }

            var next = new ActionContact[current.Length - 1];
            Array.Copy(current, next, at);
            Array.Copy(current, at + 1, next, at, current.Length - at - 1);
            _byCustomer[contact.CustomerId] = next;
        }
    }

    private sealed record Recorded(ActionContact Contact);
}

/// <summary>Argument checks and ordering shared by the contact logs.</summary>
public static class ActionContactChecks
{
    /// <summary>Checks a contact.</summary>
    /// <param name="contact">The contact.</param>
    /// <exception cref="EngagementValidationException">A field is missing or out of range.</exception>
    public static void Require(ActionContact contact)
    {
        if (contact.CustomerId.IsEmpty)
        {
            throw new EngagementValidationException("customerId", null, "a contact needs a customer");
        }

        Text.RequireToken("actionId", contact.ActionId);
        if (contact.Channel.IsEmpty)
        {
            throw new EngagementValidationException("channel", null, "a contact needs a channel");
        }

        if (!Enum.IsDefined(contact.Kind))
        {
            throw new EngagementValidationException("kind", contact.Kind, "must be Sent or Dismissed");
        }

        Text.RequireToken("dispatchId", contact.DispatchId);
    }

    /// <summary>The order of a customer's history: by instant, then dispatch id, then kind.</summary>
    /// <param name="a">One contact.</param>
    /// <param name="b">Another.</param>
    /// <returns>The comparison.</returns>
    public static int Compare(ActionContact a, ActionContact b)
    {
        var byTime = a.At.UtcTicks.CompareTo(b.At.UtcTicks);
        if (byTime != 0)
        {
            return byTime;
        }

        var byId = string.CompareOrdinal(a.DispatchId, b.DispatchId);
        return byId != 0 ? byId : a.Kind.CompareTo(b.Kind);
    }
}
