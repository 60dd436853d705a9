using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// The SQLite consent store hands out each customer's folded state, kept with the records it was folded from: the state must
/// always be the fold of what the ledger holds, whoever wrote to it and whatever was rolled back.
/// </summary>
public sealed class SqliteConsentStateTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier Email = Identifier.Email("ann@example.com");
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task GetState_IsTheFoldOfTheLedger_KeptWhileItHolds_AndFoldedAgainAfterEachChange()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var other = new SqliteConsentStore(_databases.Open(path));
        var store = new SqliteConsentStore(database);

        (await store.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, Email, T0.AddMinutes(1)).IsAllowed.Should().BeFalse("nothing is recorded");
        await store.AppendAsync(Record("grant", ConsentStatus.Granted, T0));
        (await AllowedAsync(store)).Should().BeTrue("the grant is folded in");

        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            var first = await store.GetStateAsync(Ann);
            (await store.GetStateAsync(Ann)).Should().BeSameAs(first, "the ledger did not change");
            await unit.CompleteAsync();
        }

        // Another connection withdraws: the next read sees it.
        await other.AppendAsync(Record("withdrawal", ConsentStatus.Withdrawn, T0.AddSeconds(10)));
        (await AllowedAsync(store)).Should().BeFalse("the other connection's withdrawal is in the ledger");

        // A grant rolled back is not in the state.
        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            await store.AppendAsync(Record("again", ConsentStatus.Granted, T0.AddSeconds(20)));
            (await AllowedAsync(store)).Should().BeTrue("inside the unit the new grant is in the ledger");
        }

        (await AllowedAsync(store)).Should().BeFalse("the grant was rolled back");
        (await store.GetStateAsync(Ann)).Records.Select(r => r.RecordId).Should().BeEquivalentTo((await store.ReadAsync(Ann)).Select(r => r.RecordId));
    }

    private static async Task<bool> AllowedAsync(SqliteConsentStore store)
        => (await store.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, Email, T0.AddMinutes(1)).IsAllowed;

    private static ConsentRecord Record(string id, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = id, CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Email,
        Status = status, Source = "test", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = at,
    };
}
