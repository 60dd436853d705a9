using Engagement.Sdk.Households;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="IHouseholdStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class HouseholdStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(HouseholdStoreConformanceTests));

    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");
    private static readonly CustomerId Carl = new("carl");
    private static readonly Identifier Family = Identifier.Email("Smiths@example.com");

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IHouseholdStore CreateStore();

    /// <summary>A new household is saved at version 1 and found by id, by member and by shared identifier in any case.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_NewHousehold_IsFoundByIdMemberAndSharedIdentifier()
    {
        var store = CreateStore();
        var username = new Identifier(new IdentifierKind("username"), "Smiths").WithCaseRule(ignoreCase: true);

        var saved = await store.SaveAsync(new Household { Id = "h-1", Members = [Ann, Bob], SharedIdentifiers = [Family, username] });

        saved.Version.Should().Be(1);
        var read = await store.GetAsync("h-1");
        read!.Members.Should().Equal(Ann, Bob);
        read.SharedIdentifiers.Should().Equal(Family, username);
        read.SharedIdentifiers[0].Value.Should().Be("Smiths@example.com", "the spelling is kept");
        read.SharedIdentifiers[1].Key.Should().Be("smiths", "an identifier under a non-default rule keeps its rule");
        (await store.FindByMemberAsync(Bob))!.Id.Should().Be("h-1");
        (await store.FindByIdentifierAsync(Identifier.Email("smiths@EXAMPLE.com")))!.Id.Should().Be("h-1");
        (await store.FindByMemberAsync(Carl)).Should().BeNull();
        (await store.FindByIdentifierAsync(Identifier.Email("jones@example.com"))).Should().BeNull();
        (await store.GetAsync("h-2")).Should().BeNull();
    }

    /// <summary>A save from a stale version is a conflict and changes nothing.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_StaleVersion_IsAConflictAndChangesNothing()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(new Household { Id = "h-1", Members = [Ann] });
        await store.SaveAsync(v1 with { Members = [Ann, Bob] });

        var stale = () => store.SaveAsync(v1 with { Members = [Ann, Carl] }).AsTask();
        var again = () => store.SaveAsync(new Household { Id = "h-1", Members = [Carl] }).AsTask();

        (await stale.Should().ThrowAsync<HouseholdConflictException>()).Which.ActualVersion.Should().Be(2);
        await again.Should().ThrowAsync<HouseholdConflictException>();
        (await store.GetAsync("h-1"))!.Members.Should().Equal(Ann, Bob);
        (await store.FindByMemberAsync(Carl)).Should().BeNull("the refused saves claimed nothing");
    }

    /// <summary>A customer belongs to one household, and an identifier is shared by one: a save claiming either is refused whole.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_MemberOrIdentifierOfAnotherHousehold_IsRefusedAndWritesNothing()
    {
        var store = CreateStore();
        await store.SaveAsync(new Household { Id = "h-1", Members = [Ann], SharedIdentifiers = [Family] });

        var member = () => store.SaveAsync(new Household { Id = "h-2", Members = [Bob, Ann] }).AsTask();
        var shared = () => store.SaveAsync(new Household { Id = "h-3", Members = [Carl], SharedIdentifiers = [Identifier.Email("SMITHS@example.com")] }).AsTask();

        (await member.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("members");
        (await shared.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("sharedIdentifiers");
        (await store.GetAsync("h-2")).Should().BeNull();
        (await store.GetAsync("h-3")).Should().BeNull();
        (await store.FindByMemberAsync(Bob)).Should().BeNull();
        (await store.FindByMemberAsync(Carl)).Should().BeNull();
        (await store.FindByIdentifierAsync(Family))!.Id.Should().Be("h-1");
    }

    /// <summary>A member left out of a save, or a deleted household, is free to join another.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAndDelete_ReleaseMembersAndIdentifiers()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(new Household { Id = "h-1", Members = [Ann, Bob], SharedIdentifiers = [Family] });
        var v2 = await store.SaveAsync(v1 with { Members = [Ann] });

        await store.SaveAsync(new Household { Id = "h-2", Members = [Bob] });
        var stale = () => store.DeleteAsync("h-1", 1).AsTask();
        await stale.Should().ThrowAsync<HouseholdConflictException>();
        await store.DeleteAsync("h-1", v2.Version);
        await store.SaveAsync(new Household { Id = "h-3", Members = [Ann], SharedIdentifiers = [Family] });

        (await store.GetAsync("h-1")).Should().BeNull();
        (await store.FindByMemberAsync(Bob))!.Id.Should().Be("h-2");
        (await store.FindByMemberAsync(Ann))!.Id.Should().Be("h-3");
        (await store.FindByIdentifierAsync(Family))!.Id.Should().Be("h-3");
    }

    /// <summary>Two households created at once claiming one customer: exactly one is saved.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_TwoNewHouseholdsClaimingOneCustomerConcurrently_ExactlyOneWins()
    {
        var store = CreateStore();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                await store.SaveAsync(new Household { Id = "h-" + i, Members = [Ann] });
                return true;
            }
            catch (EngagementValidationException)
            {
                return false;
            }
        })));

        outcomes.Count(won => won).Should().Be(1);
        var winner = await store.FindByMemberAsync(Ann);
        winner!.Members.Should().Equal(Ann);
        for (var i = 0; i < 8; i++)
        {
            (await store.GetAsync("h-" + i) is null).Should().Be("h-" + i != winner.Id);
        }
    }
}
