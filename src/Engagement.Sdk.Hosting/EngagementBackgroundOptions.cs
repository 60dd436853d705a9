using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Hosting;

/// <summary>What <see cref="EngagementBackgroundService"/> runs and how often; validated when the host starts.</summary>
public sealed class EngagementBackgroundOptions
{
    /// <summary>Whether the outbox is delivered (<see cref="Channels.DispatchWorker"/> passes, waiting <see cref="Channels.DispatchOptions.PollInterval"/> when nothing is due).</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool DeliverOutbox { get; set; } = true;

    /// <summary>Whether held messages are released when contact policy allows them (<see cref="IEngagementEngine.ReleaseHeldAsync"/>).</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool ReleaseHeldMessages { get; set; } = true;

    /// <summary>How often held messages are looked at (1 second to 1 day).</summary>
    /// <value>Defaults to 1 minute.</value>
    public TimeSpan HeldReleaseInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether journeys are swept: customers whose timers fell due are evaluated (<see cref="IEngagementEngine.SweepJourneysAsync"/>).</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool SweepJourneys { get; set; } = true;

    /// <summary>How often journeys are swept (1 second to 1 day); a move is recorded at the instant it fell due whenever the sweep runs.</summary>
    /// <value>Defaults to 1 minute.</value>
    public TimeSpan JourneySweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether segments are swept: customers whose segment timers fell due are evaluated (<see cref="IEngagementEngine.SweepSegmentsAsync"/>).</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool SweepSegments { get; set; } = true;

    /// <summary>How often segments are swept (1 second to 1 day).</summary>
    /// <value>Defaults to 1 minute.</value>
    public TimeSpan SegmentSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How far behind its interval a work may fall before the health check reports it (1 second to 1 day): a work whose last
    /// successful pass ended longer ago than its interval plus this is degraded.
    /// </summary>
    /// <value>Defaults to 5 minutes.</value>
    public TimeSpan MaxLag { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Validates <see cref="EngagementBackgroundOptions"/>: each setting is named with its value and range.</summary>
internal sealed class EngagementBackgroundOptionsValidator : IValidateOptions<EngagementBackgroundOptions>
{
    public ValidateOptionsResult Validate(string? name, EngagementBackgroundOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Range(failures, nameof(options.HeldReleaseInterval), options.HeldReleaseInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), "1 second to 1 day");
        Range(failures, nameof(options.JourneySweepInterval), options.JourneySweepInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), "1 second to 1 day");
        Range(failures, nameof(options.SegmentSweepInterval), options.SegmentSweepInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), "1 second to 1 day");
        Range(failures, nameof(options.MaxLag), options.MaxLag, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), "1 second to 1 day");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string name, TimeSpan value, TimeSpan min, TimeSpan max, string range)
    {
        if (value < min || value > max)
        {
            failures.Add($"EngagementBackgroundOptions.{name} is {value}: it must be from {range}.");
        }
    }
}
