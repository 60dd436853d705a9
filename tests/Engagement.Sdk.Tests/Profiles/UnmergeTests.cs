using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Profiles;

/// <summary>An unmerge gives both people back exactly what they would have without the merge.</summary>
public sealed class UnmergeTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier BobDevice = Identifier.Device("bob-phone");
    private readonly ManualTimeProvider _clock = new(Start);
    private readonly ServiceProvider _provider;
    private int _next;

    public UnmergeTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement(o =>
        {
            o.EventRetention = TimeSpan.FromDays(7);
            o.LatenessWindow = TimeSpan.FromDays(7);
        });
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    private IdentityResolver Identity => _provider.GetRequiredService<IdentityResolver>();

    private IProfileStore Profiles => _provider.GetRequiredService<IProfileStore>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task Unmerge_LateEventStampedBeforeTheMergeArrivingAfterIt_IsInTheRestoredProfile()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        var beforeMerge = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromHours(1));
        await Identity.MergeAsync(Ann, Bob);
        _clock.Advance(TimeSpan.FromHours(1));

        // Bob's order, placed before the merge, arrives now (a producer's retry).
        await Engine.TrackAsync(Order(Bob, "o-1", beforeMerge.AddMinutes(30)));

        var result = await Identity.UnmergeAsync(Ann);

        result.Restored.Behaviour.Orders.Should().Be(1, "the late order was addressed to Bob");
        result.Survivor.Behaviour.Orders.Should().Be(0);
        result.Survivor.Identifiers.Should().Equal(AnnEmail);
        result.Restored.Identifiers.Should().Equal(BobDevice);
    }

    [Fact]
    public async Task Unmerge_AfterRetentionPurgedTheEventsSinceTheMerge_StillRestoresThem()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        await Identity.MergeAsync(Ann, Bob);
        await Engine.TrackAsync(View(Bob, BobDevice));
        await Engine.TrackAsync(Order(Bob, "o-1", _clock.GetUtcNow()));
        await Engine.TrackAsync(View(Ann, AnnEmail));
        _clock.Advance(TimeSpan.FromDays(10));
        (await _provider.GetRequiredService<EventRetentionPolicy>().ApplyAsync()).Should().Be(5, "every event is older than the retention period");

        var result = await Identity.UnmergeAsync(Ann);

        result.Survivor.Behaviour.ProductViews.Should().Be(2);
        result.Restored.Behaviour.ProductViews.Should().Be(2);
        result.Restored.Behaviour.Orders.Should().Be(1);
        result.Restored.Behaviour.RefundableByOrder.ContainsKey("o-1").Should().BeTrue();
    }

    [Fact]
    public async Task Unmerge_TwoMergesUndoneNewestFirst_GiveBackEachPersonAsTheyWouldBe()
    {
        var carl = new CustomerId("carl");
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        await Engine.TrackAsync(View(carl, Identifier.Device("carl-tablet")));
        await Identity.MergeAsync(Bob, carl);
        await Engine.TrackAsync(View(carl, Identifier.Device("carl-tablet")));
        await Identity.MergeAsync(Ann, Bob);
        await Engine.TrackAsync(View(carl, Identifier.Device("carl-tablet")));
        await Engine.TrackAsync(View(Bob, BobDevice));

        (await Identity.GetAsync(carl))!.Behaviour.ProductViews.Should().Be(6);
        await Identity.UnmergeAsync(Ann);
        var bob = await Identity.UnmergeAsync(Bob);

        bob.Survivor.Behaviour.ProductViews.Should().Be(2, "Bob's own two views");
        bob.Restored.Behaviour.ProductViews.Should().Be(3, "Carl's own three views, one of them sent while all three were one");
        (await Profiles.GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task CountEvents_InAWindow_FollowsMergedProfiles()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        await Engine.TrackAsync(View(Bob, BobDevice));
        var merged = await Identity.MergeAsync(Ann, Bob);
        var now = _clock.GetUtcNow().AddSeconds(1);
        var events = _provider.GetRequiredService<IEventStore>();

        (await events.CountAsync(merged, e => e is ProductViewed, TimeSpan.FromDays(1), now)).Should().Be(3);
        (await Identity.CountEventsAsync(Bob, e => e is ProductViewed, TimeSpan.FromDays(1), now)).Should().Be(3);
        (await events.CountAsync(Ann, e => e is ProductViewed, TimeSpan.FromDays(1), now)).Should().Be(1, "by id, only the events sent with that id");
    }

    [Fact]
    public async Task Unmerge_ConsentStaysWithItsIdAndAnOptOutOfTheReturningAddressIsKept()
    {
        var ledger = _provider.GetRequiredService<ConsentLedger>();
        var bobEmail = Identifier.Email("bob@example.com");
        await Engine.TrackAsync(View(Ann, Identifier.Device("ann-laptop")));
        await Engine.TrackAsync(View(Bob, bobEmail));
        await Engine.RecordConsentAsync(Grant("bob-grant", Bob, bobEmail));
        await Engine.RecordConsentAsync(Grant("bob-objects", Bob, null) with { Status = ConsentStatus.Objected, Purpose = Purpose.SaleSharing, Channel = null, Evidence = null });
        await _provider.GetRequiredService<IdentityResolver>().MergeAsync(Ann, Bob);
        _clock.Advance(TimeSpan.FromMinutes(1));

        // While the two were one, an unsubscribe of Bob's address was recorded under Ann's id.
        await Engine.RecordConsentAsync(Grant("unsubscribe", Ann, bobEmail) with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = _clock.GetUtcNow() });
        var merged = (await Identity.GetAsync(Ann))!;
        (await ledger.GetStateAsync(merged)).Evaluate(Channel.Web, Purpose.SaleSharing, null, _clock.GetUtcNow()).Code.Should().Be(PermissionReasons.Objected, "Bob's objection counts for the two as one");

        await Identity.UnmergeAsync(Ann);

        var ann = (await ledger.GetStateAsync((await Identity.GetAsync(Ann))!));
        var bob = (await ledger.GetStateAsync((await Identity.GetAsync(Bob))!));
        var now = _clock.GetUtcNow();
        ann.Evaluate(Channel.Web, Purpose.SaleSharing, null, now).Code.Should().Be(PermissionReasons.NoConsent, "Bob's objection is his again");
        (await ledger.GetStateAsync(merged)).Evaluate(Channel.Email, Purpose.Marketing, bobEmail, now).Code.Should().Be(PermissionReasons.Withdrawn);
        bob.Evaluate(Channel.Email, Purpose.Marketing, bobEmail, now).Code.Should().Be(PermissionReasons.Withdrawn, "the unsubscribe of his address goes back with it");
        bob.Records.Should().Contain(r => r.Source.StartsWith("unmerge:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unmerge_HeldMessagesDecidedWhileMerged_AreCancelled()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        var merge = (await Identity.MergeAsync(Ann, Bob)).Merges[^1];
        var dispatches = _provider.GetRequiredService<IDispatchStore>();
        var now = _clock.GetUtcNow();
        var held = new DispatchRecord { DispatchId = "d-held", CustomerId = Ann, ActionId = "offer", Channel = Channel.Email, Purpose = Purpose.Marketing, CreatedAt = now, Status = DispatchStatus.Held, HeldAt = now, ReleaseAt = now.AddHours(8), ExpiresAt = now.AddDays(1) };
        (await dispatches.TryBeginAsync(held)).Should().BeTrue();

        await Identity.UnmergeAsync(Ann, merge.MergeId);

        var after = await dispatches.GetAsync("d-held");
        after!.Status.Should().Be(DispatchStatus.Cancelled);
        after.Error.Should().StartWith(IdentityResolver.UnmergedReason);
    }

    [Fact]
    public async Task Unmerge_AMergeThatNeverHappenedOrWasUndoneOrIsNotTheLatest_IsATypedErrorAndWritesNothing()
    {
        var carl = new CustomerId("carl");
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Bob, BobDevice));
        await Engine.TrackAsync(View(carl, Identifier.Device("carl-tablet")));
        var first = (await Identity.MergeAsync(Ann, Bob)).Merges[^1];
        var second = (await Identity.MergeAsync(Ann, carl)).Merges[^1];
        var before = await Snapshot();

        var never = await FluentActions.Awaiting(() => Identity.UnmergeAsync(Ann, "merge-000000000000").AsTask()).Should().ThrowAsync<EngagementValidationException>();
        never.Which.Field.Should().Be("mergeId");
        never.Which.Message.Should().Contain("never happened");
        var notLatest = await FluentActions.Awaiting(() => Identity.UnmergeAsync(Ann, first.MergeId).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        notLatest.Which.Message.Should().Contain(second.MergeId);
        (await FluentActions.Awaiting(() => Identity.UnmergeAsync(Bob).AsTask()).Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("survivorId");
        (await Snapshot()).Should().Equal(before, "a refused unmerge writes nothing");

        await Identity.UnmergeAsync(Ann, second.MergeId);
        var again = await FluentActions.Awaiting(() => Identity.UnmergeAsync(Ann, second.MergeId).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        again.Which.Message.Should().Contain("undone already");
    }

    private async Task<List<string>> Snapshot()
    {
        var all = new List<string>();
        await foreach (var p in Profiles.ListAsync())
        {
            all.Add(System.Text.Json.JsonSerializer.Serialize(p, Engagement.Sdk.Serialization.EngagementJsonContext.Default.CustomerProfile));
        }

        return all;
    }

    private ProductViewed View(CustomerId customer, Identifier identifier)
        => new() { EventId = "e" + Interlocked.Increment(ref _next), CustomerId = customer, Timestamp = _clock.GetUtcNow(), Identifiers = [identifier], ProductId = "boots" };

    private Purchased Order(CustomerId customer, string orderId, DateTimeOffset at) => new()
    {
        EventId = "e" + Interlocked.Increment(ref _next),
        CustomerId = customer,
        Timestamp = at,
        OrderId = orderId,
        Lines = [new OrderLine("boots", 1, new Money(90m, Currency.EUR))],
    };

    private ConsentRecord Grant(string id, CustomerId customer, Identifier? address) => new()
    {
        RecordId = id,
        CustomerId = customer,
        Channel = Channel.Email,
        Identifier = address,
        Purpose = Purpose.Marketing,
        Status = ConsentStatus.Granted,
        Source = "signup-form",
        Evidence = new ConsentEvidence("notice-v1", "signup-form"),
        EffectiveAt = _clock.GetUtcNow().AddMinutes(-5),
    };
}
