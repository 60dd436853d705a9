using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Households;

/// <summary>An in-memory <see cref="IHouseholdStore"/>: thread-safe, its writes undone with an uncompleted unit of work.</summary>
public sealed class InMemoryHouseholdStore : IHouseholdStore, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Household> _households = new(StringComparer.Ordinal);
    private readonly Dictionary<CustomerId, string> _byMember = [];
    private readonly Dictionary<Identifier, string> _byIdentifier = [];

    /// <inheritdoc />
    public ValueTask<Household?> GetAsync(string householdId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(householdId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_households.GetValueOrDefault(householdId));
        }
    }

    /// <inheritdoc />
    public ValueTask<Household?> FindByMemberAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_byMember.TryGetValue(customerId, out var id) ? _households.GetValueOrDefault(id) : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<Household?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_byIdentifier.TryGetValue(identifier, out var id) ? _households.GetValueOrDefault(id) : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<Household> SaveAsync(Household household, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(household);
        cancellationToken.ThrowIfCancellationRequested();
        var saved = household with { Version = household.Version + 1 };
        lock (_lock)
        {
            var current = _households.GetValueOrDefault(household.Id);
            if ((current?.Version ?? 0) != household.Version)
            {
                throw new HouseholdConflictException(household.Id, household.Version, current?.Version ?? 0);
            }

            // Checked before anything changes: all of it is written, or nothing.
            foreach (var member in saved.Members)
            {
                if (_byMember.TryGetValue(member, out var other) && other != saved.Id)
                {
                    throw new EngagementValidationException("members", member.Value, $"the customer already belongs to household '{other}'; a customer belongs to one household");
                }
            }

            foreach (var identifier in saved.SharedIdentifiers)
            {
                if (_byIdentifier.TryGetValue(identifier, out var other) && other != saved.Id)
                {
                    throw new EngagementValidationException("sharedIdentifiers", identifier.Kind.Name, $"the identifier is already shared by household '{other}'; an identifier is shared by one household");
                }
            }

            Replace(current, saved);
            InMemoryTransactions.Record(this, household.Id, current, saved);
        }

        return ValueTask.FromResult(saved);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string householdId, long version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(householdId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var current = _households.GetValueOrDefault(householdId);
            if (current is null || current.Version != version)
            {
                throw new HouseholdConflictException(householdId, version, current?.Version ?? 0);
            }

            Replace(current, null);
            InMemoryTransactions.Record(this, householdId, current, Deleted);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        lock (_lock)
        {
            var id = (string)key;
            var current = _households.GetValueOrDefault(id);
            if (ReferenceEquals(written, Deleted) ? current is null : ReferenceEquals(current, written))
            {
                Replace(current, (Household?)previous);
            }
        }
    }

    // A marker for an undo entry of a deletion.
    private static readonly object Deleted = new();

    // Swaps one state of a household for another, with its index entries. Called holding the lock.
    private void Replace(Household? current, Household? next)
    {
        if (current is not null)
        {
            _households.Remove(current.Id);
            foreach (var member in current.Members)
            {
                _byMember.Remove(member);
            }

            foreach (var identifier in current.SharedIdentifiers)
            {
                _byIdentifier.Remove(identifier);
            }
        }

        if (next is not null)
        {
            _households[next.Id] = next;
            foreach (var member in next.Members)
            {
                _byMember[member] = next.Id;
            }

            foreach (var identifier in next.SharedIdentifiers)
            {
                _byIdentifier[identifier] = next.Id;
            }
        }
    }
}
