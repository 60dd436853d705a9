using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>
/// The in-memory store's list of what caps count, which it keeps per customer between checks: a dispatch begun after a check
/// is added to it, and whatever else changes the customer's dispatches makes it list them again.
/// </summary>
public sealed class InMemoryDispatchCapLogTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public async Task ListCountedAsync_DispatchesBegunAfterACheck_AreListedInOrderAndEarlierListsStayAsTheyWere()
    {
        var store = new InMemoryDispatchStore();
        var lists = new List<IReadOnlyList<CappedDispatch>>();
        for (var i = 0; i < 10; i++)
        {
            await store.TryBeginAsync(Dispatch("d" + i, T0.AddMinutes(i)));
            lists.Add(await store.ListCountedAsync(Ann, T0));
        }

        for (var i = 0; i < 10; i++)
        {
            lists[i].Select(d => d.DispatchId).Should().Equal(Enumerable.Range(0, i + 1).Select(j => "d" + j), "list {0} was taken after {1} dispatch(es)", i, i + 1);
        }

        (await store.ListCountedAsync(Ann, T0.AddMinutes(7))).Select(d => d.DispatchId).Should().Equal("d7", "d8", "d9");
        (await store.ListCountedAsync(Ann, T0.AddMinutes(10))).Should().BeEmpty();
    }

    [Fact]
    public async Task ListCountedAsync_DispatchBegunEarlierThanTheLatest_IsListedInItsPlace()
    {
        var store = new InMemoryDispatchStore();
        await store.TryBeginAsync(Dispatch("late", T0.AddHours(2)));
        (await store.ListCountedAsync(Ann, T0)).Should().ContainSingle();

        await store.TryBeginAsync(Dispatch("early", T0.AddHours(1)));

        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("early", "late");
        (await store.ListCountedAsync(Ann, T0.AddMinutes(90))).Select(d => d.DispatchId).Should().Equal("late");
    }

    [Fact]
    public async Task ListCountedAsync_AfterHeldReplayedOrOtherCustomersDispatches_ListsOnlyWhatCounts()
    {
        var store = new InMemoryDispatchStore();
        await store.TryBeginAsync(Dispatch("a", T0));
        (await store.ListCountedAsync(Ann, T0)).Should().ContainSingle();

        await store.TryBeginAsync(Dispatch("held", T0.AddMinutes(1)) with { Status = DispatchStatus.Held });
        (await store.TryBeginAsync(Dispatch("a", T0.AddMinutes(2)))).Should().BeFalse("the id was begun before");
        await store.TryBeginAsync(Dispatch("bob's", T0.AddMinutes(3)) with { CustomerId = new CustomerId("bob") });
        await store.TryBeginAsync(Dispatch("b", T0.AddMinutes(4)) with { Channel = Channel.Sms, Purpose = Purpose.Transactional });

        (await store.ListCountedAsync(Ann, T0)).Should().Equal(
            new CappedDispatch("a", T0, Channel.Email, Purpose.Marketing),
            new CappedDispatch("b", T0.AddMinutes(4), Channel.Sms, Purpose.Transactional));
    }

    [Fact]
    public async Task ListCountedAsync_AfterADispatchSettlesOrIsUndone_ListsWhatTheStoreHolds()
    {
        var store = new InMemoryDispatchStore();
        await store.TryBeginAsync(Dispatch("a", T0));
        await store.TryBeginAsync(Dispatch("b", T0.AddMinutes(1)));
        (await store.ListCountedAsync(Ann, T0)).Should().HaveCount(2);

        await store.ClaimAsync(T0.AddMinutes(1), "w1", T0.AddMinutes(5), 1);
        (await store.TrySettleAsync(Dispatch("a", T0) with { Status = DispatchStatus.DeadLettered, Attempts = 1, CompletedAt = T0.AddMinutes(2) }, "w1")).Should().BeTrue();
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("b");

        var unit = InMemoryTransactions.Instance.Begin();
        await store.TryBeginAsync(Dispatch("c", T0.AddMinutes(3)));
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("b", "c");
        await unit.DisposeAsync();

        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal(["b"], "the unit that began c was not completed");
    }

    private static DispatchRecord Dispatch(string id, DateTimeOffset at) => new()
    {
        DispatchId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = at,
    };
}
