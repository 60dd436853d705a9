using Engagement.Sdk.Households;
using Engagement.Sdk.Storage.Relational;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// On SQLite the household store answers a customer's household from what it found before, inside a unit of work, only while
/// that is what the tables hold: its own writes, a rollback and another connection's commit are all seen.
/// </summary>
public sealed class HouseholdMemberCacheTests : IDisposable
{
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task OwnWrites_Rollbacks_AndOtherConnections_AreSeen()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var store = new RelationalHouseholdStore(database);
        var other = new RelationalHouseholdStore(_databases.Open(path));

        (await FindInUnitAsync(Ann)).Should().BeNull();
        var saved = await store.SaveAsync(new Household { Id = "h1", Members = [Ann] });
        (await FindInUnitAsync(Ann))!.Id.Should().Be("h1", "this store's own write empties what it kept");

        // A write in a unit that is rolled back is forgotten.
        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            (await store.FindByMemberAsync(Bob)).Should().BeNull();
            await store.SaveAsync(saved with { Members = [Ann, Bob] });
            (await store.FindByMemberAsync(Bob))!.Id.Should().Be("h1");
        }

        (await FindInUnitAsync(Bob)).Should().BeNull("the unit that added Bob was rolled back");

        // Another connection (another process) moves Ann out: the next unit reads the tables again.
        (await FindInUnitAsync(Ann))!.Members.Should().Equal(Ann);
        var current = await other.GetAsync("h1");
        await other.SaveAsync(current! with { Members = [Bob] });
        (await FindInUnitAsync(Ann)).Should().BeNull("the other connection's commit is seen");
        (await FindInUnitAsync(Bob))!.Id.Should().Be("h1");

        // A delete through this store is seen too.
        await store.DeleteAsync("h1", (await store.GetAsync("h1"))!.Version);
        (await FindInUnitAsync(Bob)).Should().BeNull();

        async Task<Household?> FindInUnitAsync(CustomerId customer)
        {
            await using var unit = database.Begin();
            await unit.StartAsync();
            var first = await store.FindByMemberAsync(customer);
            var second = await store.FindByMemberAsync(customer);
            second.Should().Be(first);
            await unit.CompleteAsync();
            return first;
        }
    }
}
