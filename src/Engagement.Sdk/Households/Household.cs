using System.Collections.Immutable;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Households;

/// <summary>
/// A household or account: several customers' profiles that belong together (a family, a small business) and the
/// identifiers they share (the family's e-mail address, the landline). Each person keeps a profile of their own — a shared
/// identifier never merges them — while what concerns the address concerns every holder: a suppression or an opt-out of
/// it applies to mail sent to it through any member, and frequency caps may count the whole household. Immutable and
/// versioned like a profile.
/// </summary>
public sealed record Household
{
    /// <summary>The household's id (letters, digits, '_', '-', '.', ':' or '@'; at most 128 characters).</summary>
    public required string Id { get; init; }

    /// <summary>The optimistic-concurrency version: 0 for a household never stored, incremented by each save.</summary>
    public long Version { get; init; }

    /// <summary>The members, in the order they joined. A customer belongs to at most one household.</summary>
    public ImmutableArray<CustomerId> Members { get; init; } = [];

    /// <summary>The identifiers the members share. An identifier is shared by at most one household.</summary>
    [PersonalData]
    public ImmutableArray<Identifier> SharedIdentifiers { get; init; } = [];

    /// <summary>Whether <paramref name="identifier"/> is one the household shares.</summary>
    /// <param name="identifier">The identifier.</param>
    /// <returns><see langword="true"/> when it is.</returns>
    public bool Shares(Identifier identifier) => SharedIdentifiers.Contains(identifier);
}

/// <summary>Thrown when a household was saved by another writer since it was read: reload and try again.</summary>
public sealed class HouseholdConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="householdId">The household.</param>
    /// <param name="expectedVersion">The version the writer read.</param>
    /// <param name="actualVersion">The version stored now (0 when there is none).</param>
    public HouseholdConflictException(string householdId, long expectedVersion, long actualVersion)
        : base($"Household '{householdId}' is at version {actualVersion}, not the expected {expectedVersion}: it was changed by another writer.")
    {
        HouseholdId = householdId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The household.</summary>
    public string HouseholdId { get; }

    /// <summary>The version the writer read.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The version stored now.</summary>
    public long ActualVersion { get; }
}
