using Microsoft.Extensions.Time.Testing;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Testing.Journeys;

/// <summary>
/// A whole engine for journey tests: in-memory stores, a <see cref="FakeTimeProvider"/>, in-memory senders for email, SMS
/// and push, and a delivery worker run after every call (so sends are visible at once). Move time with
/// <see cref="AdvanceAsync"/> (which sweeps the due timers as a host's periodic sweep would), track events, and read a
/// customer's path through a journey with <see cref="PathAsync"/>.
/// </summary>
public sealed class JourneyTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private JourneyTestHost(ServiceProvider provider, FakeTimeProvider clock)
    {
        _provider = provider;
        Clock = clock;
        Engine = DeliveringEngine.From(provider);
        Store = provider.GetRequiredService<IJourneyStore>();
        Catalog = provider.GetRequiredService<JourneyCatalog>();
        Senders = [.. provider.GetServices<IChannelSender>().OfType<InMemoryChannelSender>()];
    }

    /// <summary>The default start of the clock: 2026-01-05T09:00:00Z (a Monday).</summary>
    public static DateTimeOffset DefaultStart { get; } = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The clock.</summary>
    public FakeTimeProvider Clock { get; }

    /// <summary>The engine (its outbox delivered after every call).</summary>
    public DeliveringEngine Engine { get; }

    /// <summary>The journey store.</summary>
    public IJourneyStore Store { get; }

    /// <summary>The compiled journeys.</summary>
    public JourneyCatalog Catalog { get; }

    /// <summary>The in-memory senders (email, SMS and push unless configured otherwise).</summary>
    public ImmutableArray<InMemoryChannelSender> Senders { get; }

    /// <summary>The services, for anything else a test needs.</summary>
    public IServiceProvider Services => _provider;

    /// <summary>Creates a host.</summary>
    /// <param name="configure">Adds journeys, actions, stores or channels (email, SMS and push in-memory senders are added unless a test adds its own).</param>
    /// <param name="options">Sets the engine's options (for example <see cref="EngagementOptions.DecisionTriggers"/>).</param>
    /// <param name="start">The clock's start; <see cref="DefaultStart"/> by default.</param>
    /// <returns>The host.</returns>
    public static JourneyTestHost Create(Action<EngagementBuilder>? configure = null, Action<EngagementOptions>? options = null, DateTimeOffset? start = null)
    {
        var clock = new FakeTimeProvider(start ?? DefaultStart);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        var builder = services.AddEngagement(options);
        configure?.Invoke(builder);
        if (!services.Any(d => d.ServiceType == typeof(IChannelSender)))
        {
            builder.AddChannel(new InMemoryChannelSender(Channel.Email)).AddChannel(new InMemoryChannelSender(Channel.Sms)).AddChannel(new InMemoryChannelSender(Channel.Push));
        }

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        foreach (var validator in provider.GetServices<Microsoft.Extensions.Options.IValidateOptions<EngagementOptions>>())
        {
            var result = validator.Validate(null, provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<EngagementOptions>>().Value);
            if (result.Failed)
            {
                provider.Dispose();
                throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(EngagementOptions), typeof(EngagementOptions), result.Failures);
            }
        }

        return new JourneyTestHost(provider, clock);
    }

    /// <summary>Tracks an event, first moving the clock to its time if that is later than now.</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>What tracking did.</returns>
    public async ValueTask<TrackResult> TrackAsync(EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        if (engagementEvent.Timestamp > Clock.GetUtcNow())
        {
            Clock.SetUtcNow(engagementEvent.Timestamp);
        }

        return await Engine.TrackAsync(engagementEvent).ConfigureAwait(false);
    }

    /// <summary>Records consent.</summary>
    /// <param name="record">The record.</param>
    /// <returns>Whether it was appended.</returns>
    public ValueTask<Storage.AppendOutcome> ConsentAsync(ConsentRecord record) => Engine.RecordConsentAsync(record);

    /// <summary>Moves the clock forward and sweeps the due journey timers.</summary>
    /// <param name="by">How far.</param>
    /// <returns>What the sweep did.</returns>
    public async ValueTask<JourneySweepResult> AdvanceAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return await Engine.SweepJourneysAsync().ConfigureAwait(false);
    }

    /// <summary>Sweeps the due journey timers without moving the clock.</summary>
    /// <returns>What the sweep did.</returns>
    public ValueTask<JourneySweepResult> SweepAsync() => Engine.SweepJourneysAsync();

    /// <summary>A customer's path through a journey, from the journey store's history.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="journeyId">The journey.</param>
    /// <returns>The path.</returns>
    public async ValueTask<JourneyPath> PathAsync(CustomerId customerId, string journeyId)
    {
        var entries = ImmutableArray.CreateBuilder<JourneyHistoryEntry>();
        await foreach (var entry in Store.ReadHistoryAsync(customerId).ConfigureAwait(false))
        {
            if (entry.JourneyId == journeyId)
            {
                entries.Add(entry);
            }
        }

        var record = await Store.GetAsync(customerId).ConfigureAwait(false);
        var track = record?.Tracks.FirstOrDefault(t => t.JourneyId == journeyId);
        return new JourneyPath(customerId, journeyId, entries.ToImmutable(), track is { } t ? Catalog.StageOf(t) : null, track?.IsControl ?? false);
    }

    /// <summary>Where a customer is in each journey now: journey id → stage id (journeys the customer is not in are left out).</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The stages.</returns>
    public async ValueTask<IReadOnlyDictionary<string, string>> StagesAsync(CustomerId customerId)
    {
        var stages = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var track in (await Store.GetAsync(customerId).ConfigureAwait(false))?.Tracks ?? [])
        {
            if (Catalog.StageOf(track) is { } stage)
            {
                stages[track.JourneyId] = stage;
            }
        }

        return stages;
    }

    /// <summary>Every customer's history in every journey as text, in a fixed order: what golden files compare.</summary>
    /// <returns>The text.</returns>
    public async ValueTask<string> HistoryTextAsync()
    {
        var text = new StringBuilder();
        await foreach (var record in Store.ListAsync().ConfigureAwait(false))
        {
            foreach (var journeyId in Catalog.JourneyIds)
            {
                var path = await PathAsync(record.CustomerId, journeyId).ConfigureAwait(false);
                if (!path.Entries.IsEmpty)
                {
                    text.Append(path.ToText());
                }
            }
        }

        return text.ToString();
    }

    /// <summary>The messages the in-memory senders accepted, in order per channel.</summary>
    public IEnumerable<OutboundMessage> Sent => Senders.SelectMany(s => s.Messages);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}

/// <summary>A customer's path through one journey: every history entry, and views of the stages, steps and sends.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="JourneyId">The journey.</param>
/// <param name="Entries">The history entries, in order.</param>
/// <param name="CurrentStage">The stage the customer is in now, or <see langword="null"/>.</param>
/// <param name="IsControl">Whether the customer is in the journey's control group.</param>
public sealed record JourneyPath(CustomerId CustomerId, string JourneyId, ImmutableArray<JourneyHistoryEntry> Entries, string? CurrentStage, bool IsControl)
{
    /// <summary>The stages entered, in order (a stage entered twice appears twice).</summary>
    public ImmutableArray<string> Stages => [.. Entries.Where(e => e.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved or JourneyHistoryKind.Migrated).Select(e => e.StageId!)];

    /// <summary>The steps started, as <c>stage/step</c>, in order.</summary>
    public ImmutableArray<string> Steps => [.. Entries.Where(e => e.Kind == JourneyHistoryKind.StepStarted).Select(e => e.StageId + "/" + e.StepId)];

    /// <summary>The actions queued in the outbox by send steps, in order.</summary>
    public ImmutableArray<string> Sends => [.. Entries.Where(e => e.Kind == JourneyHistoryKind.Sent).Select(e => e.ActionId!)];

    /// <summary>The actions a control-group customer would have been sent, in order.</summary>
    public ImmutableArray<string> WouldSends => [.. Entries.Where(e => e.Kind == JourneyHistoryKind.WouldSend).Select(e => e.ActionId!)];

    /// <summary>Whether the customer left the journey (and has not entered again since).</summary>
    public bool HasExited => CurrentStage is null && Entries.Any(e => e.Kind == JourneyHistoryKind.Exited);

    /// <summary>Whether the customer reached the journey's goal.</summary>
    public bool ReachedGoal => Entries.Any(e => e.Kind == JourneyHistoryKind.Goal);

    /// <summary>The path as text, one entry a line, with invariant formatting: stable for golden files.</summary>
    /// <returns>The text.</returns>
    public string ToText()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{CustomerId} in {JourneyId}{(IsControl ? " (control)" : string.Empty)}: now {CurrentStage ?? "-"}\n");
        foreach (var e in Entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {e.At:yyyy-MM-ddTHH:mm:ssZ} v{e.Version} #{e.Visit} {e.Kind}");
            if (e.FromStageId is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" from {e.FromStageId}");
            }

            if (e.StageId is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" {(e.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved or JourneyHistoryKind.Migrated ? "to" : "in")} {e.StageId}");
            }

            if (e.StepId is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" step {e.StepId}");
            }

            if (e.ActionId is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" action {e.ActionId} on {e.Channel}");
            }

            if (e.Amount is { } amount)
            {
                text.Append(CultureInfo.InvariantCulture, $" amount {amount:0.00}");
            }

            if (e.Reason is not null && e.Kind is not JourneyHistoryKind.Sent and not JourneyHistoryKind.WouldSend)
            {
                text.Append(CultureInfo.InvariantCulture, $" ({e.Reason})");
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}
