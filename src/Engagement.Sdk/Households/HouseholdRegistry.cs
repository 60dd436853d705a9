using System.Collections.Immutable;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Households;

/// <summary>
/// Creates and changes households: checks every part before anything is written (the members are customers of this store
/// and of no other household; no other household shares the identifiers) and saves with the household's version, retrying
/// a change on a conflict. What households do elsewhere: identity resolution never merges two people over an identifier
/// their household shares; the permission gate applies an opt-out of a shared identifier recorded by any member to all of
/// them (a suppression of an address already applies to every holder) and counts frequency caps marked
/// <see cref="Consent.FrequencyCap.PerHousehold"/> across the members; an export carries the person's membership; an
/// erasure removes the person from their household and leaves the others and their shared address as they are.
/// </summary>
public sealed class HouseholdRegistry
{
    private const int MaxAttempts = 8;
    private readonly IHouseholdStore _households;
    private readonly IProfileStore _profiles;
    private readonly IdentityOptions _rules;

    /// <summary>Creates the registry.</summary>
    /// <param name="households">The household store.</param>
    /// <param name="profiles">The profile store (members must have a profile in it).</param>
    /// <param name="options">The options (the identifier rules that shared identifiers are compared by).</param>
    public HouseholdRegistry(IHouseholdStore households, IProfileStore profiles, IOptions<EngagementOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _households = households ?? throw new ArgumentNullException(nameof(households));
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _rules = options.Value.Identity;
    }

    /// <summary>Creates a household.</summary>
    /// <param name="householdId">The new household's id.</param>
    /// <param name="members">Its members: customers with a profile in this store, in no other household.</param>
    /// <param name="sharedIdentifiers">The identifiers they share, shared by no other household.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The household as saved.</returns>
    /// <exception cref="EngagementValidationException">A part breaks a rule (the field names it: <c>householdId</c>, <c>members[i]</c>, <c>sharedIdentifiers[i]</c>); nothing is written.</exception>
    public async ValueTask<Household> CreateAsync(string householdId, IEnumerable<CustomerId> members, IEnumerable<Identifier> sharedIdentifiers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(sharedIdentifiers);
        RequireId(householdId);
        if (await _households.GetAsync(householdId, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new EngagementValidationException("householdId", householdId, "a household with this id exists already");
        }

        var household = new Household { Id = householdId, Members = [.. members], SharedIdentifiers = [.. sharedIdentifiers.Select(i => _rules.Normalise(i ?? throw new EngagementValidationException("sharedIdentifiers", null, "must not be null")))] };
        if (household.Members.IsEmpty)
        {
            throw new EngagementValidationException("members", null, "a household needs at least one member");
        }

        await CheckAsync(household, cancellationToken).ConfigureAwait(false);
        return await _households.SaveAsync(household, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds a member to a household.</summary>
    /// <param name="householdId">The household.</param>
    /// <param name="customerId">The customer: with a profile in this store, in no other household.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The household as saved.</returns>
    /// <exception cref="EngagementValidationException">The household is unknown or the customer cannot join it; nothing is written.</exception>
    public ValueTask<Household> AddMemberAsync(string householdId, CustomerId customerId, CancellationToken cancellationToken = default)
        => ChangeAsync(householdId, h => h.Members.Contains(customerId) ? h : h with { Members = h.Members.Add(customerId) }, cancellationToken);

    /// <summary>Removes a member from a household; a household left without members is deleted.</summary>
    /// <param name="householdId">The household.</param>
    /// <param name="customerId">The member.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The household as saved, or <see langword="null"/> when it was deleted.</returns>
    /// <exception cref="EngagementValidationException">The household is unknown or the customer is not a member.</exception>
    public async ValueTask<Household?> RemoveMemberAsync(string householdId, CustomerId customerId, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var household = await RequireAsync(householdId, cancellationToken).ConfigureAwait(false);
            if (!household.Members.Contains(customerId))
            {
                throw new EngagementValidationException("customerId", customerId.Value, $"is not a member of household '{householdId}'");
            }

            try
            {
                if (household.Members.Length == 1)
                {
                    await _households.DeleteAsync(householdId, household.Version, cancellationToken).ConfigureAwait(false);
                    return null;
                }

                return await _households.SaveAsync(household with { Members = household.Members.Remove(customerId) }, cancellationToken).ConfigureAwait(false);
            }
            catch (HouseholdConflictException) when (attempt < MaxAttempts)
            {
                // Another writer changed it: read it again.
            }
        }
    }

    /// <summary>Makes an identifier one the household shares.</summary>
    /// <param name="householdId">The household.</param>
    /// <param name="identifier">The identifier, shared by no other household.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The household as saved.</returns>
    /// <exception cref="EngagementValidationException">The household is unknown or another household shares the identifier; nothing is written.</exception>
    public ValueTask<Household> ShareAsync(string householdId, Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var normalised = _rules.Normalise(identifier);
        return ChangeAsync(householdId, h => h.Shares(normalised) ? h : h with { SharedIdentifiers = h.SharedIdentifiers.Add(normalised) }, cancellationToken);
    }

    /// <summary>The household a customer belongs to.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The household, or <see langword="null"/>.</returns>
    public ValueTask<Household?> FindAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => _households.FindByMemberAsync(customerId, cancellationToken);

    /// <summary>
    /// Every profile that holds an identifier: the members of the household that shares it (each has a profile of their own),
    /// or else the one profile that holds it.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The holders' profiles (empty when nobody holds it).</returns>
    public async ValueTask<ImmutableArray<CustomerProfile>> FindHoldersAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        identifier = _rules.Normalise(identifier);
        if (await _households.FindByIdentifierAsync(identifier, cancellationToken).ConfigureAwait(false) is { } household)
        {
            var holders = ImmutableArray.CreateBuilder<CustomerProfile>();
            foreach (var member in household.Members)
            {
                if (await _profiles.GetAsync(member, cancellationToken).ConfigureAwait(false) is { } profile)
                {
                    holders.Add(profile);
                }
            }

            return holders.ToImmutable();
        }

        return await _profiles.FindByIdentifierAsync(identifier, cancellationToken).ConfigureAwait(false) is { } owner ? [owner] : [];
    }

    private async ValueTask<Household> ChangeAsync(string householdId, Func<Household, Household> change, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var household = await RequireAsync(householdId, cancellationToken).ConfigureAwait(false);
            var changed = change(household);
            if (ReferenceEquals(changed, household))
            {
                return household;
            }

            await CheckAsync(changed, cancellationToken).ConfigureAwait(false);
            try
            {
                return await _households.SaveAsync(changed, cancellationToken).ConfigureAwait(false);
            }
            catch (HouseholdConflictException) when (attempt < MaxAttempts)
            {
                // Another writer changed it: read it again and apply the change to what it is now.
            }
        }
    }

    private async ValueTask<Household> RequireAsync(string householdId, CancellationToken cancellationToken)
    {
        RequireId(householdId);
        return await _households.GetAsync(householdId, cancellationToken).ConfigureAwait(false)
            ?? throw new EngagementValidationException("householdId", householdId, "no household has this id");
    }

    // Every member a customer of this store, live, once, and in no other household; every identifier shared by no other.
    private async ValueTask CheckAsync(Household household, CancellationToken cancellationToken)
    {
        for (var i = 0; i < household.Members.Length; i++)
        {
            var member = household.Members[i];
            var field = $"members[{i}]";
            if (member.IsEmpty)
            {
                throw new EngagementValidationException(field, null, "must name a customer");
            }

            if (household.Members.IndexOf(member) != i)
            {
                throw new EngagementValidationException(field, member.Value, "names a member twice");
            }

            var profile = await _profiles.GetAsync(member, cancellationToken).ConfigureAwait(false)
                ?? throw new EngagementValidationException(field, member.Value, "must be a customer with a profile in this store: a customer of another tenant (another store or schema) or an unknown id cannot join");
            if (profile.MergedInto is { } redirect)
            {
                throw new EngagementValidationException(field, member.Value, $"was merged into '{redirect.SurvivorId}'; add that customer instead");
            }

            if (await _households.FindByMemberAsync(member, cancellationToken).ConfigureAwait(false) is { } other && other.Id != household.Id)
            {
                throw new EngagementValidationException(field, member.Value, $"already belongs to household '{other.Id}'; a customer belongs to one household");
            }
        }

        for (var i = 0; i < household.SharedIdentifiers.Length; i++)
        {
            var identifier = household.SharedIdentifiers[i];
            if (await _households.FindByIdentifierAsync(identifier, cancellationToken).ConfigureAwait(false) is { } other && other.Id != household.Id)
            {
                throw new EngagementValidationException($"sharedIdentifiers[{i}]", identifier.Kind.Name, $"is already shared by household '{other.Id}'; an identifier is shared by one household");
            }
        }
    }

    private static void RequireId(string householdId)
    {
        Text.RequireToken("householdId", householdId, 128);
        foreach (var c in householdId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or ':' or '@'))
            {
                throw new EngagementValidationException("householdId", householdId, "may hold only letters, digits, '_', '-', '.', ':' and '@'");
            }
        }
    }
}
