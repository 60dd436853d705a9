using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>The write of one tracked event at which <see cref="EventAtomicityConformanceTests"/> injects a fault.</summary>
public enum EventWrite
{
    /// <summary>The event's append to the event store.</summary>
    EventAppend,

    /// <summary>The append of the consent record a <see cref="ConsentChanged"/> event carries.</summary>
    ConsentAppend,

    /// <summary>The save of the customer's profile.</summary>
    ProfileSave,

    /// <summary>The message the event's decision queues in the outbox (<see cref="IDispatchStore.TryBeginAsync"/>).</summary>
    DispatchBegin,
}

/// <summary>
/// An event and all its effects are written together or not at all, on a store with its units of work: a fault after any one
/// of the writes of a tracked event (its append, the consent record it carries, the profile save, the message its decision
/// queues) leaves nothing of the event behind, so the host's retry applies it in full rather than finding a "duplicate"; an
/// event whose id conflicts with an earlier event records no consent either. Inherit it in the adapter's tests.
/// </summary>
public abstract class EventAtomicityConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(EventAtomicityConformanceTests));

    /// <summary>The instant the tests run at.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    /// <summary>Adds the store under test (nothing for the in-memory stores, which <c>AddEngagement</c> registers).</summary>
    /// <param name="builder">The builder.</param>
    protected abstract void AddStore(EngagementBuilder builder);

    /// <summary>A fault after any one write of a tracked event leaves nothing of it, and the retry then applies all of it.</summary>
    /// <param name="write">Where the fault strikes.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck(EventWrite.EventAppend)]
    [ConformanceCheck(EventWrite.ConsentAppend)]
    [ConformanceCheck(EventWrite.ProfileSave)]
    [ConformanceCheck(EventWrite.DispatchBegin)]
    public async Task Track_FaultAfterOneWrite_NothingOfTheEventRemainsAndTheRetryAppliesIt(EventWrite write)
    {
        var faults = new Faults();
        await using var provider = Build(faults);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new ProfileUpdated { EventId = "tz", CustomerId = Ann, Timestamp = T0.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [AnnEmail] });
        var before = await provider.GetRequiredService<IProfileStore>().GetAsync(Ann);
        var change = Change("consent-1", "g-1");

        faults.Armed = write;
        var act = async () => await engine.TrackAsync(change);
        (await act.Should().ThrowAsync<IOException>()).Which.Message.Should().Contain(write.ToString());
        faults.Armed = null;

        await ShouldHoldNothingOfAsync(provider, before!.Version);
        var retry = await engine.TrackAsync(change);
        retry.IsDuplicate.Should().BeFalse("the host's retry must apply the event, not find a duplicate of a half-written one");
        retry.Dispatch.Should().NotBeNull("the retry decides and queues the message");
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().ContainSingle(r => r.RecordId == "g-1");
    }

    /// <summary>In a batch, a fault after one write of one event stops the batch and leaves nothing of that event.</summary>
    /// <param name="write">Where the fault strikes.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck(EventWrite.ConsentAppend)]
    [ConformanceCheck(EventWrite.ProfileSave)]
    [ConformanceCheck(EventWrite.DispatchBegin)]
    public async Task TrackBatch_FaultAfterOneWrite_NothingOfTheBatchRemains(EventWrite write)
    {
        var faults = new Faults { Armed = write };
        await using var provider = Build(faults);
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var act = async () => await engine.TrackBatchAsync([
            new ProfileUpdated { EventId = "tz", CustomerId = Ann, Timestamp = T0.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [AnnEmail] },
            Change("consent-1", "g-1"),
        ]);

        await act.Should().ThrowAsync<IOException>();
        faults.Armed = null;
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
        (await provider.GetRequiredService<IDispatchStore>().ListAsync(Ann, T0.AddDays(-30))).Should().BeEmpty();
    }

    /// <summary>A consent change whose event id was used for another event is rejected, and its grant is not recorded.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task Track_ConsentChangeWithAConflictingEventId_RecordsNoGrant()
    {
        await using var provider = Build(new Faults());
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new ProductViewed { EventId = "e-1", CustomerId = Ann, Timestamp = T0.AddMinutes(-1), ProductId = "boots" });

        var act = async () => await engine.TrackAsync(Change("e-1", "g-1"));

        await act.Should().ThrowAsync<EventConflictException>();
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        var batch = await engine.TrackBatchAsync([Change("e-1", "g-2"), Change("consent-3", "g-3")]);
        batch.Select(r => r.IsSuccess).Should().Equal(false, true);
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Select(r => r.RecordId).Should().Equal("g-3");
    }

    /// <summary>A consent record whose append fails after the write is not kept, and its retry is appended, not a duplicate.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task RecordConsent_FaultAfterTheAppend_KeepsNothingAndTheRetryAppends()
    {
        var faults = new Faults { Armed = EventWrite.ConsentAppend };
        await using var provider = Build(faults);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var grant = Change("unused", "g-1").Record;

        var act = async () => await engine.RecordConsentAsync(grant);

        await act.Should().ThrowAsync<IOException>();
        faults.Armed = null;
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        (await engine.RecordConsentAsync(grant)).Should().Be(AppendOutcome.Appended);
    }

    private async Task ShouldHoldNothingOfAsync(IServiceProvider provider, long profileVersion)
    {
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Select(e => e.EventId).Should().Equal(["tz"], "the event's append was undone");
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty("the grant it carried was undone");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Version.Should().Be(profileVersion, "the profile save was undone");
        (await provider.GetRequiredService<IDispatchStore>().ListAsync(Ann, T0.AddDays(-30))).Should().BeEmpty("the queued message was undone");
    }

    private ServiceProvider Build(Faults faults)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(T0));
        var builder = services.AddEngagement(o =>
            {
                o.DecideOnStageChange = false;
                o.DecisionTriggers.Add("consent_changed");
            })
            .AddChannel(new NullSender())
            .ConfigureDecisions(static o => o.Exploration = ExplorationMode.Greedy) // every consent change decides to send
            .UseActions(ActionCatalog.Create([new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 }]));
        AddStore(builder);
        Decorate<IEventStore>(services, inner => new FaultyEvents(inner, faults));
        Decorate<IConsentStore>(services, inner => new FaultyConsents(inner, faults));
        Decorate<IProfileStore>(services, inner => new FaultyProfiles(inner, faults));
        Decorate<IDispatchStore>(services, inner => new FaultyDispatches(inner, faults));
        return services.BuildServiceProvider();
    }

    private static ConsentChanged Change(string eventId, string recordId) => new()
    {
        EventId = eventId,
        CustomerId = Ann,
        Timestamp = T0,
        Record = new ConsentRecord
        {
            RecordId = recordId,
            CustomerId = Ann,
            Channel = Channel.Email,
            Purpose = Purpose.Marketing,
            Identifier = AnnEmail,
            Status = ConsentStatus.Granted,
            Source = "preference-centre",
            Evidence = new ConsentEvidence("v3", "preference-centre"),
            EffectiveAt = T0,
        },
    };

    private static void Decorate<T>(IServiceCollection services, Func<T, T> wrap)
        where T : class
    {
        var descriptor = services.Last(d => d.ServiceType == typeof(T));
        services.Remove(descriptor);
        services.AddSingleton(sp => wrap((T)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!))));
    }

    private sealed class Faults
    {
        public EventWrite? Armed { get; set; }

        // The write has been made; the fault strikes after it, so the unit of work has to undo it.
        public void After(EventWrite write)
        {
            if (Armed == write)
            {
                throw new IOException($"injected fault after {write}");
            }
        }
    }

    private sealed class NullSender : IChannelSender
    {
        public Channel Channel => Channel.Email;

        public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default) => ValueTask.FromResult(SendResult.Accepted);
    }

    private sealed class FaultyEvents(IEventStore inner, Faults faults) : IEventStore
    {
        public async ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
        {
            var outcome = await inner.AppendAsync(engagementEvent, cancellationToken).ConfigureAwait(false);
            faults.After(EventWrite.EventAppend);
            return outcome;
        }

        public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
            => inner.ReadAsync(customerId, from, to, cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
            => inner.ReadRangeAsync(from, to, cancellationToken);
    }

    private sealed class FaultyConsents(IConsentStore inner, Faults faults) : IConsentStore
    {
        public async ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default)
        {
            var outcome = await inner.AppendAsync(record, cancellationToken).ConfigureAwait(false);
            faults.After(EventWrite.ConsentAppend);
            return outcome;
        }

        public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.ReadAsync(customerId, cancellationToken);
    }

    private sealed class FaultyProfiles(IProfileStore inner, Faults faults) : IProfileStore
    {
        public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.GetAsync(customerId, cancellationToken);

        public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default) => inner.FindByIdentifierAsync(identifier, cancellationToken);

        public async ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
        {
            var saved = await inner.SaveAsync(profile, cancellationToken).ConfigureAwait(false);
            faults.After(EventWrite.ProfileSave);
            return saved;
        }

        public IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
    }

    private sealed class FaultyDispatches(IDispatchStore inner, Faults faults) : IDispatchStore
    {
        public async ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default)
        {
            var begun = await inner.TryBeginAsync(record, cancellationToken).ConfigureAwait(false);
            faults.After(EventWrite.DispatchBegin);
            return begun;
        }

        public ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default) => inner.TryUpdateAsync(record, expected, cancellationToken);

        public ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default)
            => inner.ClaimAsync(now, owner, leaseUntil, max, cancellationToken);

        public ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default) => inner.TrySettleAsync(record, owner, cancellationToken);

        public ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default) => inner.GetAsync(dispatchId, cancellationToken);

        public ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default) => inner.ListAsync(customerId, since, cancellationToken);

        public IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, CancellationToken cancellationToken = default) => inner.ListByStatusAsync(status, cancellationToken);
    }
}
