using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Profiles;

public sealed class IdentityResolutionTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Anon = new("anon-1");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.Anonymous("cookie-1");
    private readonly ManualTimeProvider _clock = new(Start);
    private readonly ServiceProvider _provider;
    private int _next;

    public IdentityResolutionTests()
        : this(_ => { })
    {
    }

    private IdentityResolutionTests(Action<EngagementOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement(configure);
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    [Fact]
    public async Task ResolveAsync_TokenAlreadyCancelled_FailsTheReturnedTaskInsteadOfThrowingAtTheCall()
    {
        var pending = Identity.ResolveAsync(Ann, [AnnEmail], new CancellationToken(canceled: true));

        pending.IsCompleted.Should().BeTrue();
        await FluentActions.Awaiting(() => pending.AsTask()).Should().ThrowAsync<OperationCanceledException>();
    }

    private IdentityResolver Identity => _provider.GetRequiredService<IdentityResolver>();

    private IProfileStore Profiles => _provider.GetRequiredService<IProfileStore>();

    private ConsentLedger Ledger => _provider.GetRequiredService<ConsentLedger>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task Login_AnonymousBrowsingThenKnownCustomer_MergesTheAnonymousProfileIntoTheKnownOne()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));
        await Engine.TrackAsync(View(Anon, Cookie));

        var login = await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));

        login.Identity!.CustomerId.Should().Be(Ann);
        login.Identity.Merges.Should().ContainSingle().Which.Should().Match<ProfileMerge>(m => m.SurvivorId == Ann && m.MergedId == Anon && m.MatchedOn == Cookie);
        login.Profile!.Behaviour.ProductViews.Should().Be(4, "two views of each profile");
        login.Profile.Identifiers.Should().BeEquivalentTo([AnnEmail, Cookie]);
        (await Identity.FindAsync(Cookie))!.Id.Should().Be(Ann);
        (await Profiles.GetAsync(Anon))!.MergedInto!.SurvivorId.Should().Be(Ann);

        // An event that still names the anonymous id lands on the known customer.
        var later = await Engine.TrackAsync(View(Anon, Cookie));
        later.Profile!.Id.Should().Be(Ann);
        later.Profile.Behaviour.ProductViews.Should().Be(5);
        (await Identity.GetAsync(Anon))!.Id.Should().Be(Ann);
    }

    [Fact]
    public async Task Resolve_AnonymousIdPresentingAKnownEmail_MergesIntoTheKnownCustomer()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));

        var result = await Engine.TrackAsync(View(Anon, Cookie, AnnEmail));

        result.Profile!.Id.Should().Be(Ann, "an anonymous profile merges into the known one, whichever id the event names");
        result.Profile.Behaviour.ProductViews.Should().Be(3);
    }

    [Fact]
    public async Task Resolve_TwoDevicesOfOneCustomer_BothMergeIntoHerProfile()
    {
        var phone = Identifier.Device("phone-1");
        var laptop = Identifier.Device("laptop-1");
        await Engine.TrackAsync(View(new CustomerId("anon-phone"), phone));
        await Engine.TrackAsync(View(new CustomerId("anon-laptop"), laptop));

        await Engine.TrackAsync(View(Ann, AnnEmail, phone));
        var result = await Engine.TrackAsync(View(Ann, AnnEmail, laptop));

        result.Profile!.Identifiers.Should().BeEquivalentTo([AnnEmail, phone, laptop]);
        result.Profile.Behaviour.ProductViews.Should().Be(4);
        result.Profile.Merges.Select(m => m.MergedId.Value).Should().Equal("anon-phone", "anon-laptop");
    }

    [Fact]
    public async Task Resolve_TwoDifferentVerifiedEmails_AreTwoPeopleAndTheForeignEmailIsNotAdded()
    {
        var bob = new CustomerId("bob");
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(bob, Identifier.Email("bob@example.com")));

        var result = await Engine.TrackAsync(View(bob, AnnEmail));

        result.Profile!.Id.Should().Be(bob);
        result.Profile.Identifiers.Should().NotContain(AnnEmail);
        result.Identity!.Merges.Should().BeEmpty();
        result.Identity.Conflicts.Should().ContainSingle().Which.Should().Match<IdentityConflict>(c => c.Identifier == AnnEmail && c.OwnerId == Ann && c.Reason.Contains("exclusive"));
        (await Profiles.GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1, "nothing of Bob's reached Ann");
    }

    [Fact]
    public async Task Resolve_SharedFamilyEmailDeclaredNotToMerge_KeepsBothPeopleSeparate()
    {
        await using var family = new IdentityResolutionTests(o => o.Identity.Identifiers[IdentifierKind.Email] = new IdentifierRule { MergeOnMatch = false, Exclusive = false });
        var shared = Identifier.Email("smiths@example.com");
        await family.Engine.TrackAsync(View(new CustomerId("mother"), shared));

        var result = await family.Engine.TrackAsync(View(new CustomerId("son"), shared));

        result.Profile!.Id.Value.Should().Be("son");
        result.Identity!.Merges.Should().BeEmpty();
        result.Profile.Identifiers.Should().Contain(shared);
        (await family.Profiles.GetAsync(new CustomerId("mother")))!.IsMerged.Should().BeFalse();
    }

    [Fact]
    public async Task Resolve_UndeclaredHostKind_NeverMerges()
    {
        var ticket = new Identifier(new IdentifierKind("ticket"), "T-1");
        await Engine.TrackAsync(View(new CustomerId("a"), ticket));

        var result = await Engine.TrackAsync(View(new CustomerId("b"), ticket));

        result.Identity!.Merges.Should().BeEmpty();
        result.Profile!.Id.Value.Should().Be("b");
    }

    [Fact]
    public async Task Merge_NeverWidensConsent_RestrictionsCarryOverAndGrantsDoNot()
    {
        var annPhone = Identifier.Phone("+380671234567");
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie, annPhone));
        await Engine.RecordConsentAsync(Grant("ann-email", Ann, Channel.Email, AnnEmail));
        await Engine.RecordConsentAsync(Grant("anon-email-withdrawn", Anon, Channel.Email, AnnEmail) with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = Start.AddDays(-2) });
        await Engine.RecordConsentAsync(Grant("anon-sms", Anon, Channel.Sms, annPhone));
        await Ledger.RecordGlobalPrivacyControlAsync(Anon, "browser-gpc");
        _clock.Advance(TimeSpan.FromMinutes(1));

        var result = await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));

        result.Identity!.Merges.Should().ContainSingle();
        var state = await Ledger.GetStateAsync(result.Profile!);
        var now = _clock.GetUtcNow();
        state.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, now).IsAllowed.Should().BeFalse("the merged profile had withdrawn, although Ann's own record granted later");
        state.Evaluate(Channel.Sms, Purpose.Marketing, annPhone, now).IsAllowed.Should().BeFalse("a grant never travels: the survivor had no SMS consent");
        state.Evaluate(Channel.Web, Purpose.SaleSharing, null, now).Code.Should().Be(PermissionReasons.Objected, "a Global Privacy Control signal carries over to the merged profile");
        (await Ledger.GetStateAsync(Ann)).Records.Should().ContainSingle("each record stays in the ledger of the id it was given for");
    }

    [Fact]
    public async Task Consent_RecordedUnderAMergedId_BelongsToTheSurvivor()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));
        await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));

        await Engine.RecordConsentAsync(Grant("late-grant", Anon, Channel.Email, AnnEmail));

        var person = await Ledger.GetStateAsync((await Identity.GetAsync(Anon))!);
        person.CustomerId.Should().Be(Ann);
        person.Records.Should().Contain(r => r.RecordId == "late-grant", "consent given under a merged id, since the merge, is the person's");
        person.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, _clock.GetUtcNow()).IsAllowed.Should().BeTrue();
        await Identity.UnmergeAsync(Ann);
        (await Ledger.GetStateAsync((await Identity.GetAsync(Ann))!)).Records.Should().NotContain(r => r.RecordId == "late-grant", "after the unmerge it is the anonymous profile's again");
        (await Ledger.GetStateAsync(Anon)).Records.Should().Contain(r => r.RecordId == "late-grant");
    }

    [Fact]
    public async Task Unmerge_RestoresBothProfilesAndTheEventsEachReceivedSince()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));
        await Engine.TrackAsync(new ProfileUpdated { EventId = Id(), CustomerId = Anon, Timestamp = _clock.GetUtcNow(), Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("size", TraitValue.Of("M")) });
        var annBefore = await Profiles.GetAsync(Ann);
        _clock.Advance(TimeSpan.FromMinutes(5));
        await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));
        _clock.Advance(TimeSpan.FromMinutes(5));
        await Engine.TrackAsync(View(Anon, Cookie)); // routed to Ann while merged
        await Engine.TrackAsync(View(Ann, AnnEmail));

        var result = await Identity.UnmergeAsync(Ann);

        result.Survivor.Identifiers.Should().Equal(annBefore!.Identifiers);
        result.Survivor.Merges.Should().BeEmpty();
        result.Survivor.Behaviour.ProductViews.Should().Be(3, "her first view, the login view, and her own view since the merge");
        result.Restored.Id.Should().Be(Anon);
        result.Restored.IsMerged.Should().BeFalse();
        result.Restored.Traits["size"].AsString().Should().Be("M");
        result.Restored.Behaviour.ProductViews.Should().Be(2, "its own view, and the view addressed to it while merged");
        (await Identity.FindAsync(Cookie))!.Id.Should().Be(Anon, "the cookie goes back to its own profile");
        (await Identity.GetAsync(Anon))!.Id.Should().Be(Anon);
        await FluentActions.Awaiting(() => Identity.UnmergeAsync(Ann).AsTask()).Should().ThrowAsync<EngagementValidationException>().WithMessage("*no merge to undo*");
    }

    [Fact]
    public async Task Merge_InterruptedAfterTheRedirect_IsCompletedByTheNextRead()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));
        var anon = await Profiles.GetAsync(Anon);

        // The first of the two writes of a merge, as if the process stopped right after it.
        await Profiles.SaveAsync(new CustomerProfile { Id = Anon, Version = anon!.Version, MergedInto = new ProfileRedirect(Ann, "merge-interrupted", Start, anon with { Version = 0 }) });

        var survivor = await Identity.GetAsync(Anon);

        survivor!.Id.Should().Be(Ann);
        survivor.Merges.Should().ContainSingle().Which.MergeId.Should().Be("merge-interrupted");
        survivor.Behaviour.ProductViews.Should().Be(2);
        (await Identity.GetAsync(Anon))!.Merges.Should().ContainSingle("completing twice has one effect");
    }

    [Fact]
    public async Task MergeAsync_RequestedByTheHost_ValidatesBothIds()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(new CustomerId("pos-17"), Identifier.Phone("+380671234567")));

        var merged = await Identity.MergeAsync(Ann, new CustomerId("pos-17"));

        merged.Merges.Should().ContainSingle().Which.Reason.Should().Be(MergeReason.Requested);
        await FluentActions.Awaiting(() => Identity.MergeAsync(Ann, new CustomerId("nobody")).AsTask()).Should().ThrowAsync<EngagementValidationException>().Where(e => e.Field == "mergedId");
        await FluentActions.Awaiting(() => Identity.MergeAsync(Ann, Ann).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        await FluentActions.Awaiting(() => Identity.MergeAsync(Ann, new CustomerId("pos-17")).AsTask()).Should().ThrowAsync<EngagementValidationException>().WithMessage("*merged*");
    }

    [Fact]
    public async Task Erase_Survivor_ErasesEveryIdMergedIntoIt()
    {
        await Engine.TrackAsync(View(Ann, AnnEmail));
        await Engine.TrackAsync(View(Anon, Cookie));
        await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));

        await _provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        (await Profiles.GetAsync(Anon)).Should().BeNull("the redirect keeps the anonymous profile's data");
        (await Profiles.FindByIdentifierAsync(Cookie)).Should().BeNull();
        (await Engine.TrackAsync(View(Anon, Cookie))).IsErasedSubject.Should().BeTrue("a replayed event for a merged id does not recreate the person");
    }

    [Fact]
    public async Task Events_ReadAcrossMergedIds_InTimeOrder()
    {
        await Engine.TrackAsync(View(Anon, Cookie));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await Engine.TrackAsync(View(Ann, AnnEmail, Cookie));

        var events = await Identity.ReadEventsAsync(Anon).ToListAsync();

        events.Select(e => e.CustomerId).Should().Equal(Anon, Ann);
    }

    [Fact]
    public void Combine_TraitRules_NewestOldestNonEmptyAndUnion()
    {
        var rules = new IdentityOptions();
        rules.Traits["first_touch"] = TraitMergeRule.OldestWins;
        rules.Traits["nickname"] = TraitMergeRule.NonEmptyWins;
        rules.Traits["interests"] = TraitMergeRule.Union;
        var survivor = CustomerProfile.New(Ann) with
        {
            Traits = Traits(("plan", TraitValue.Of("gold")), ("first_touch", TraitValue.Of("ads")), ("nickname", TraitValue.Of("")), ("interests", TraitValue.Of(ImmutableArray.Create("boots", "hats")))),
            TraitTimes = Times(("plan", 1), ("first_touch", 5), ("nickname", 9), ("interests", 2)),
        };
        var other = CustomerProfile.New(Anon) with
        {
            Traits = Traits(("plan", TraitValue.Of("silver")), ("first_touch", TraitValue.Of("seo")), ("nickname", TraitValue.Of("Annie")), ("interests", TraitValue.Of(ImmutableArray.Create("hats", "socks"))), ("size", TraitValue.Of(38))),
            TraitTimes = Times(("plan", 3), ("first_touch", 4), ("nickname", 1), ("interests", 1)),
        };

        var merged = ProfileMerger.Combine(survivor, other, rules);

        merged.Traits["plan"].AsString().Should().Be("silver", "newest wins by default");
        merged.Traits["first_touch"].AsString().Should().Be("seo", "oldest wins where declared");
        merged.Traits["nickname"].AsString().Should().Be("Annie", "non-empty wins over the survivor's empty value");
        merged.Traits["interests"].AsList().Should().Equal("boots", "hats", "socks");
        merged.Traits["size"].AsNumber().Should().Be(38);
        merged.Id.Should().Be(Ann);
    }

    [Fact]
    public async Task ProfileUpdated_ArrivingLate_DoesNotOverwriteANewerTrait()
    {
        await Engine.TrackAsync(new ProfileUpdated { EventId = "new", CustomerId = Ann, Timestamp = Start, Traits = Traits(("plan", TraitValue.Of("gold"))) });
        var result = await Engine.TrackAsync(new ProfileUpdated { EventId = "old", CustomerId = Ann, Timestamp = Start.AddHours(-1), Traits = Traits(("plan", TraitValue.Of("silver")), ("size", TraitValue.Of("M"))) });

        result.Profile!.Traits["plan"].AsString().Should().Be("gold");
        result.Profile.Traits["size"].AsString().Should().Be("M", "a trait the newer event did not set is still taken from the late one");
    }

    [Fact]
    public void CombineBehaviour_IsTheSumOfBothProfiles_ForAnyCounts()
    {
        var counts = Gen.Choose(0, 1000).Four().ToArbitrary();
        var prop = Prop.ForAll(counts, c =>
        {
            var (a, b, x, y) = c;
            var left = new BehaviourAggregates { Orders = a, ProductViews = b, FirstSeen = Start.AddDays(a), LastSeen = Start.AddDays(a + b) };
            var right = new BehaviourAggregates { Orders = x, ProductViews = y, FirstSeen = Start.AddDays(x), LastSeen = Start.AddDays(x + y) };
            var sum = ProfileMerger.CombineBehaviour(left, right);
            return sum.Orders == a + x && sum.ProductViews == b + y
                && sum.FirstSeen == Start.AddDays(Math.Min(a, x)) && sum.LastSeen == Start.AddDays(Math.Max(a + b, x + y))
                && ProfileMerger.CombineBehaviour(right, left).Orders == sum.Orders;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }

    private static ImmutableDictionary<string, TraitValue> Traits(params (string Name, TraitValue Value)[] traits)
        => traits.ToImmutableDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);

    private static ImmutableDictionary<string, DateTimeOffset> Times(params (string Name, int Day)[] times)
        => times.ToImmutableDictionary(t => t.Name, t => Start.AddDays(t.Day), StringComparer.Ordinal);

    private static ConsentRecord Grant(string id, CustomerId customer, Channel channel, Identifier address) => new()
    {
        RecordId = id,
        CustomerId = customer,
        Channel = channel,
        Identifier = address,
        Purpose = Purpose.Marketing,
        Status = ConsentStatus.Granted,
        Source = "signup-form",
        Evidence = new ConsentEvidence("notice-v1", "signup-form"),
        EffectiveAt = Start.AddDays(-1),
    };

    private ProductViewed View(CustomerId customer, params Identifier[] identifiers)
        => new() { EventId = Id(), CustomerId = customer, Timestamp = _clock.GetUtcNow(), Identifiers = [.. identifiers], ProductId = "boots" };

    private string Id() => "evt-" + Interlocked.Increment(ref _next);
}

public sealed class LatenessWindowTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Track_EventsWithinTheWindowInAnyOrder_GiveTheSameAggregates_AndOlderOnesAreRejected()
    {
        var orders = new[] { 0, 1, 2, 3 };
        BehaviourAggregates? first = null;
        foreach (var permutation in new[] { orders, orders.Reverse().ToArray(), [2, 0, 3, 1] })
        {
            await using var provider = Provider(TimeSpan.FromDays(7));
            var engine = provider.GetRequiredService<IEngagementEngine>();
            foreach (var i in permutation)
            {
                await engine.TrackAsync(new ProductViewed { EventId = $"v{i}", CustomerId = new("ann"), Timestamp = Now.AddDays(-i), ProductId = "boots", Category = "shoes", Channel = i == 0 ? Channel.Email : Channel.Web });
            }

            var behaviour = (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour;
            behaviour.ProductViews.Should().Be(4);
            behaviour.FirstSeen.Should().Be(Now.AddDays(-3));
            behaviour.LastSeen.Should().Be(Now);
            behaviour.LastChannel.Should().Be(Channel.Email, "the channel of the newest event, whatever order they came in");
            if (first is not null)
            {
                behaviour.Should().BeEquivalentTo(first);
            }

            first = behaviour;
        }

        await using var strict = Provider(TimeSpan.FromDays(7));
        var act = () => strict.GetRequiredService<IEngagementEngine>().TrackAsync(new ProductViewed { EventId = "old", CustomerId = new("ann"), Timestamp = Now.AddDays(-8), ProductId = "boots" }).AsTask();
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Rule.Should().Contain("lateness window");
    }

    [Fact]
    public void Options_RetentionWithoutALatenessWindowWithinIt_FailsValidation()
    {
        var validator = new EngagementOptionsValidator();
        validator.Validate(null, new EngagementOptions { EventRetention = TimeSpan.FromDays(30), LatenessWindow = null }).FailureMessage.Should().Contain("LatenessWindow");
        validator.Validate(null, new EngagementOptions { EventRetention = TimeSpan.FromDays(7) }).FailureMessage.Should().Contain("LatenessWindow", "the default window (30 days) is longer than the retention");
        validator.Validate(null, new EngagementOptions { EventRetention = TimeSpan.FromDays(30) }).Succeeded.Should().BeTrue("the default window is 30 days");
        validator.Validate(null, new EngagementOptions { EventRetention = TimeSpan.FromDays(30), LatenessWindow = TimeSpan.FromDays(31) }).Failed.Should().BeTrue();
        validator.Validate(null, new EngagementOptions { EventRetention = TimeSpan.FromDays(30), LatenessWindow = TimeSpan.FromDays(7) }).Succeeded.Should().BeTrue();
    }

    [Fact]
    public async Task RetentionPolicy_Apply_PurgesEventsOlderThanTheRetentionAndKeepsTheAggregates()
    {
        var services = new ServiceCollection();
        var clock = new ManualTimeProvider(Now);
        services.AddSingleton<TimeProvider>(clock);
        services.AddEngagement(o => (o.LatenessWindow, o.EventRetention) = (TimeSpan.FromDays(7), TimeSpan.FromDays(30)));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = new("ann"), Timestamp = Now.AddDays(-1), ProductId = "boots" });
        clock.Advance(TimeSpan.FromDays(40));
        await engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = new("ann"), Timestamp = clock.GetUtcNow(), ProductId = "boots" });

        (await provider.GetRequiredService<EventRetentionPolicy>().ApplyAsync()).Should().Be(1);

        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Select(e => e.EventId).Should().Equal("v2");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
        var replay = () => engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = new("ann"), Timestamp = Now.AddDays(-1), ProductId = "boots" }).AsTask();
        await replay.Should().ThrowAsync<EngagementValidationException>("a purged event is outside the lateness window, so it cannot come back as new");
    }

    [Fact]
    public void Options_NonPositiveLatenessWindow_FailsValidation()
    {
        var options = new EngagementOptions { LatenessWindow = TimeSpan.Zero };
        new EngagementOptionsValidator().Validate(null, options).Failed.Should().BeTrue();
    }

    private static ServiceProvider Provider(TimeSpan window)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(Now));
        services.AddEngagement(o => o.LatenessWindow = window);
        return services.BuildServiceProvider();
    }
}
