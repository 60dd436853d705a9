using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Households;

/// <summary>
/// Stores households, finds them by member and by shared identifier, and keeps each customer in at most one household and
/// each identifier shared by at most one.
/// </summary>
public interface IHouseholdStore
{
    /// <summary>Loads a household.</summary>
    /// <param name="householdId">The household's id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The household, or <see langword="null"/>.</returns>
    ValueTask<Household?> GetAsync(string householdId, CancellationToken cancellationToken = default);

    /// <summary>Finds the household a customer belongs to.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The household, or <see langword="null"/>.</returns>
    ValueTask<Household?> FindByMemberAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>Finds the household that shares an identifier (compared by its <see cref="Identifier.Key"/>).</summary>
    /// <param name="identifier">The identifier.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The household, or <see langword="null"/>.</returns>
    ValueTask<Household?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves <paramref name="household"/> if the stored version still equals its <see cref="Household.Version"/> (0 for a new
    /// one) and returns it with the version incremented; all of it, or nothing.
    /// </summary>
    /// <param name="household">The household.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The saved household.</returns>
    /// <exception cref="HouseholdConflictException">Another writer saved the household first.</exception>
    /// <exception cref="EngagementValidationException">A member belongs to another household (field <c>members</c>), or an identifier is shared by another (field <c>sharedIdentifiers</c>).</exception>
    ValueTask<Household> SaveAsync(Household household, CancellationToken cancellationToken = default);

    /// <summary>Deletes a household at <paramref name="version"/>, with its members' and identifiers' entries.</summary>
    /// <param name="householdId">The household.</param>
    /// <param name="version">The version the caller read.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    /// <exception cref="HouseholdConflictException">The household is at another version, or gone.</exception>
    ValueTask DeleteAsync(string householdId, long version, CancellationToken cancellationToken = default);
}
