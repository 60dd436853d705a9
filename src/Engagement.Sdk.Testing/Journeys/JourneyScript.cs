using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Testing.Journeys;

/// <summary>
/// A script of events, consent records and clock moves, replayed against a <see cref="JourneyTestHost"/>: the same script
/// and the same start always give the same stages, history and decisions (the engine reads time only from the host's clock,
/// and journeys catch up with every due instant in order), which <see cref="RunAsync"/> returns as text for golden files.
/// </summary>
public sealed class JourneyScript
{
    private readonly List<Func<JourneyTestHost, ValueTask>> _steps = [];

    /// <summary>Starts an empty script.</summary>
    /// <returns>The script.</returns>
    public static JourneyScript Create() => new();

    /// <summary>
    /// A script of an event log: each event at its time (the clock moved to it), with a sweep of due timers every
    /// <paramref name="sweepEvery"/> in between, as a host's periodic sweep would run.
    /// </summary>
    /// <param name="events">The events, in the order they arrived.</param>
    /// <param name="sweepEvery">How often the sweep runs; <see langword="null"/> for never (time then moves only with events).</param>
    /// <param name="until">Where the clock ends (with sweeps up to it), or <see langword="null"/> for the last event.</param>
    /// <returns>The script.</returns>
    public static JourneyScript FromEvents(IEnumerable<EngagementEvent> events, TimeSpan? sweepEvery = null, DateTimeOffset? until = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var script = new JourneyScript();
        DateTimeOffset? last = null;
        foreach (var e in events)
        {
            if (sweepEvery is { } every && last is { } previous)
            {
                for (var t = previous + every; t < e.Timestamp; t += every)
                {
                    script.SweepAt(t);
                }
            }

            script.Track(e);
            last = last is null || e.Timestamp > last ? e.Timestamp : last;
        }

        if (until is { } end && last is { } from)
        {
            for (var t = from + (sweepEvery ?? (end - from)); t <= end; t += sweepEvery ?? (end - from + TimeSpan.FromTicks(1)))
            {
                script.SweepAt(t);
            }
        }

        return script;
    }

    /// <summary>Tracks an event (the clock first moves to its time when that is later).</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The script.</returns>
    public JourneyScript Track(EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        _steps.Add(async host => await host.TrackAsync(engagementEvent).ConfigureAwait(false));
        return this;
    }

    /// <summary>Records consent.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The script.</returns>
    public JourneyScript Consent(ConsentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _steps.Add(async host => await host.ConsentAsync(record).ConfigureAwait(false));
        return this;
    }

    /// <summary>Moves the clock forward and sweeps.</summary>
    /// <param name="by">How far.</param>
    /// <returns>The script.</returns>
    public JourneyScript Advance(TimeSpan by)
    {
        _steps.Add(async host => await host.AdvanceAsync(by).ConfigureAwait(false));
        return this;
    }

    /// <summary>Moves the clock to an instant (if later than now) and sweeps.</summary>
    /// <param name="at">The instant.</param>
    /// <returns>The script.</returns>
    public JourneyScript SweepAt(DateTimeOffset at)
    {
        _steps.Add(async host =>
        {
            if (at > host.Clock.GetUtcNow())
            {
                host.Clock.SetUtcNow(at);
            }

            await host.SweepAsync().ConfigureAwait(false);
        });
        return this;
    }

    /// <summary>Runs the script on a host.</summary>
    /// <param name="host">The host (fresh, for a deterministic result).</param>
    /// <returns>The history of every customer in every journey, as text.</returns>
    public async ValueTask<string> RunAsync(JourneyTestHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        foreach (var step in _steps)
        {
            await step(host).ConfigureAwait(false);
        }

        return await host.HistoryTextAsync().ConfigureAwait(false);
    }

    /// <summary>How many steps the script has.</summary>
    public int Count => _steps.Count;

    /// <summary>The history entries of a script run twice on fresh hosts must be equal; this runs it twice and returns both texts.</summary>
    /// <param name="createHost">Makes a fresh host.</param>
    /// <returns>The two runs' texts.</returns>
    public async ValueTask<(string First, string Second)> RunTwiceAsync(Func<JourneyTestHost> createHost)
    {
        ArgumentNullException.ThrowIfNull(createHost);
        var first = createHost();
        await using (first.ConfigureAwait(false))
        {
            var a = await RunAsync(first).ConfigureAwait(false);
            var second = createHost();
            await using (second.ConfigureAwait(false))
            {
                return (a, await RunAsync(second).ConfigureAwait(false));
            }
        }
    }
}
