using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>The in-memory store's save of a profile that already carries its next version (the engine's path).</summary>
public sealed class InMemoryProfileStoreSaveNextTests
{
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public async Task SaveNext_NewCustomerAtVersionOne_IsStoredAsItIs()
    {
        var store = new InMemoryProfileStore();
        var next = CustomerProfile.New(Ann) with { Version = 1, Identifiers = [Identifier.Email("ann@example.com")] };

        var saved = store.SaveNext(next);

        saved.Should().BeSameAs(next, "the store takes the next version without copying it");
        (await store.GetAsync(Ann)).Should().BeSameAs(next);
        (await store.FindByIdentifierAsync(Identifier.Email("ann@example.com"))).Should().BeSameAs(next);
    }

    [Fact]
    public async Task SaveNext_AfterSaveAsync_MovesOnFromTheStoredVersion()
    {
        var store = new InMemoryProfileStore();
        var first = await store.SaveAsync(CustomerProfile.New(Ann));

        var second = store.SaveNext(first with { Version = first.Version + 1, Locale = "uk-UA" });

        second.Version.Should().Be(2);
        (await store.GetAsync(Ann))!.Locale.Should().Be("uk-UA");
    }

    [Theory]
    [InlineData(1)] // the writer read version 0 of a profile that is now at 1
    [InlineData(5)] // the writer claims to follow a version the store never had
    public async Task SaveNext_StaleOrSkippedVersion_ConflictsAndChangesNothing(long nextVersion)
    {
        var store = new InMemoryProfileStore();
        var stored = await store.SaveAsync(CustomerProfile.New(Ann)); // version 1

        var act = () => store.SaveNext(stored with { Version = nextVersion, Locale = "en-GB" });

        var conflict = act.Should().Throw<ConcurrencyConflictException>().Which;
        conflict.ExpectedVersion.Should().Be(nextVersion - 1);
        conflict.ActualVersion.Should().Be(1);
        (await store.GetAsync(Ann)).Should().BeSameAs(stored);
    }

    [Fact]
    public async Task SaveNext_NewCustomerAtAVersionAfterOne_ConflictsAndLeavesNoEntry()
    {
        var store = new InMemoryProfileStore();

        var act = () => store.SaveNext(CustomerProfile.New(Ann) with { Version = 2 });

        act.Should().Throw<ConcurrencyConflictException>().Which.ActualVersion.Should().Be(0);
        (await store.GetAsync(Ann)).Should().BeNull("a refused first save leaves nothing behind");
        var listed = new List<CustomerProfile>();
        await foreach (var profile in store.ListAsync())
        {
            listed.Add(profile);
        }

        listed.Should().BeEmpty();
    }
}
