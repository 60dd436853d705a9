using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Value;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Quickstart;

/// <summary>The quickstart: simulate a shop, run every event through the engine on SQLite, and print a report.</summary>
public static class QuickstartApp
{
    /// <summary>Runs the quickstart.</summary>
    /// <param name="args">Command-line arguments: <c>--customers N</c>, <c>--days N</c>, <c>--seed N</c>, <c>--database FILE</c>.</param>
    /// <param name="output">Where the report goes.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var customers = 5000;
        var days = 90;
        var seed = 2026;
        var database = "engagement-quickstart.db";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--customers" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n > 0:
                    customers = n;
                    i++;
                    break;
                case "--days" when int.TryParse(value, CultureInfo.InvariantCulture, out var d) && d > 0:
                    days = d;
                    i++;
                    break;
                case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out var s):
                    seed = s;
                    i++;
                    break;
                case "--database" when !string.IsNullOrWhiteSpace(value):
                    database = value;
                    i++;
                    break;
                default:
                    await output.WriteLineAsync($"Unknown or incomplete argument '{args[i]}'. Usage: Quickstart [--customers N] [--days N] [--seed N] [--database FILE]").ConfigureAwait(false);
                    return 2;
            }
        }

        DeleteDatabase(database);
        var start = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
        var simulator = new ShopSimulator(seed, customers, days, start);
        var timeline = simulator.Generate();
        var clock = new ReplayClock(start);
        var email = new InMemoryChannelSender(Channel.Email);
        var sms = new InMemoryChannelSender(Channel.Sms);
        var push = new InMemoryChannelSender(Channel.Push);

        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddEngagement(o => o.Currency = Currency.EUR)
            .UseSqlite($"Data Source={database}")
            .AddChannel(email)
            .AddChannel(sms)
            .AddChannel(push)
            .UseActions(ShopActions.Create(simulator.Products));

        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var worker = provider.GetRequiredService<DispatchWorker>(); // a host runs it in the background (RunAsync); here it runs as the simulated clock moves

        var report = new LoopTally();
        var clicks = new PriorityQueue<MessageClicked, (DateTimeOffset, long)>();
        long clickSequence = 0;

        // Replaying history: one unit of work (one SQLite transaction) per simulated day instead of one per event.
        var transactions = provider.GetRequiredService<IStoreTransactions>();
        var day = DateOnly.FromDateTime(start.UtcDateTime);
        var unit = transactions.Begin();
        try
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var happening in timeline)
            {
                if (DateOnly.FromDateTime(happening.At.UtcDateTime) != day)
                {
                    await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    day = DateOnly.FromDateTime(happening.At.UtcDateTime);
                    unit = transactions.Begin();
                    await unit.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                while (clicks.TryPeek(out var click, out var key) && key.Item1 <= happening.At)
                {
                    clicks.Dequeue();
                    clock.MoveTo(click.Timestamp);
                    report.Add(await engine.TrackAsync(click, cancellationToken).ConfigureAwait(false));
                }

                clock.MoveTo(happening.At);
                if (happening.Consent is { } consent)
                {
                    await engine.RecordConsentAsync(consent, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var result = await engine.TrackAsync(happening.Event!, cancellationToken).ConfigureAwait(false);
                report.Add(result);
                if (result.Dispatch is null && result.HeldMessages.IsDefaultOrEmpty)
                {
                    continue;
                }

                // The decision queued a message (or released a held one): the worker hands it to its channel.
                foreach (var sent in await worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (sent.Status != DispatchStatus.Sent)
                    {
                        continue;
                    }

                    report.AddSent(sent);
                    var at = happening.At.AddHours(2);
                    if (at < simulator.End && ShopSimulator.Clicks(seed, sent.DispatchId, ShopActions.ClickProbability(sent.ActionId)))
                    {
                        clicks.Enqueue(
                            new MessageClicked { EventId = "click-" + sent.DispatchId, CustomerId = sent.CustomerId, Timestamp = at, Channel = sent.Channel, DispatchId = sent.DispatchId, ActionId = sent.ActionId },
                            (at, clickSequence++));
                    }
                }
            }

            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await unit.DisposeAsync().ConfigureAwait(false);
        }

        var profiles = new List<CustomerProfile>();
        await foreach (var profile in provider.GetRequiredService<IProfileStore>().ListAsync(cancellationToken).ConfigureAwait(false))
        {
            profiles.Add(profile);
        }

        var events = new List<EngagementEvent>();
        await foreach (var e in provider.GetRequiredService<IEventStore>().ReadRangeAsync(simulator.Start, simulator.End, cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
        }

        var options = provider.GetRequiredService<IOptions<EngagementOptions>>().Value;
        var funnels = new List<JourneyFunnelReport>();
        foreach (var journey in options.Journeys)
        {
            funnels.Add(await JourneyKpis.BuildAsync(journey, provider.GetRequiredService<IJourneyStore>(), simulator.End, cancellationToken).ConfigureAwait(false));
        }

        await Report.WriteAsync(output, simulator, timeline.Count, funnels, events, report, options, profiles).ConfigureAwait(false);
        return 0;
    }

    private static void DeleteDatabase(string database)
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(database + suffix);
        }
    }
}

/// <summary>What the loop did, counted as it ran.</summary>
public sealed class LoopTally
{
    /// <summary>Events tracked (including clicks).</summary>
    public int Events { get; private set; }

    /// <summary>Decisions taken.</summary>
    public int Decisions { get; private set; }

    /// <summary>Messages sent, per channel.</summary>
    public SortedDictionary<string, int> Sent { get; } = new(StringComparer.Ordinal);

    /// <summary>Contacts a decision wanted but consent did not permit, per channel.</summary>
    public SortedDictionary<string, int> SuppressedForConsent { get; } = new(StringComparer.Ordinal);

    /// <summary>Contacts deferred by contact policy (quiet hours, frequency caps), per channel.</summary>
    public SortedDictionary<string, int> Deferred { get; } = new(StringComparer.Ordinal);

    /// <summary>Stage transitions, per target stage.</summary>
    public int Transitions { get; private set; }

    /// <summary>Clicks tracked.</summary>
    public int Clicks { get; private set; }

    /// <summary>Decisions kept for the report.</summary>
    public List<Decision> Examples { get; } = [];

    /// <summary>Counts a message the worker handed to its channel and the channel accepted.</summary>
    /// <param name="sent">The settled dispatch.</param>
    public void AddSent(DispatchRecord sent)
    {
        ArgumentNullException.ThrowIfNull(sent);
        Increment(Sent, sent.Channel.Name);
    }

    /// <summary>Counts one result.</summary>
    /// <param name="result">The result.</param>
    public void Add(TrackResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Events++;
        Transitions += result.Transitions.Length;
        if (result.Event is MessageClicked)
        {
            Clicks++;
        }

        if (result.Decision is not { } decision)
        {
            return;
        }

        Decisions++;
        foreach (var candidate in decision.Candidates)
        {
            foreach (var check in candidate.ChannelChecks)
            {
                if (check.Decision.IsAllowed)
                {
                    continue;
                }

                if (EngagementEngine.IsConsentReason(check.Decision.Code))
                {
                    Increment(SuppressedForConsent, check.Channel.Name);
                }
                else if (check.Decision.Verdict == Engagement.Sdk.Consent.PermissionVerdict.Defer)
                {
                    Increment(Deferred, check.Channel.Name);
                }
            }
        }

        if (Examples.Count < 5 && Examples.TrueForAll(e => e.CustomerId != decision.CustomerId) && IsInstructive(decision))
        {
            Examples.Add(decision);
        }
    }

    /// <summary>
    /// Picks varied examples: a decision that refused an item already bought, one where consent stopped a candidate, one that
    /// chose to do nothing, and two sends of different actions.
    /// </summary>
    private bool IsInstructive(Decision decision)
    {
        static bool Has(Decision d, string reason) => d.Candidates.Any(c => c.Reason == reason);
        static bool StoppedByConsent(Decision d) => d.Candidates.Any(c => c.Reason == DecisionReasons.NotPermitted && c.ChannelChecks.Any(k => EngagementEngine.IsConsentReason(k.Decision.Code)));
        Func<Decision, bool>[] slots =
        [
            d => Has(d, DecisionReasons.AlreadyBought),
            d => !d.IsNoAction && StoppedByConsent(d),
            d => d.IsNoAction,
        ];

        foreach (var slot in slots)
        {
            if (slot(decision))
            {
                return !Examples.Exists(e => slot(e));
            }
        }

        return !decision.IsNoAction && Examples.Count(e => !slots.Any(slot => slot(e))) < 2 && Examples.TrueForAll(e => e.Action.Id != decision.Action.Id);
    }

    private static void Increment(SortedDictionary<string, int> counts, string key) => counts[key] = counts.TryGetValue(key, out var n) ? n + 1 : 1;
}
