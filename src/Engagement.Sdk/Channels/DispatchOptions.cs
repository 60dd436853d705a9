using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels;

/// <summary>How the <see cref="DispatchWorker"/> delivers the outbox: leases, the durable retry schedule and time-outs.</summary>
public sealed class DispatchOptions
{
    /// <summary>
    /// The most dispatches one claim takes (1 to 10,000). A pass writes what it did in one transaction, so larger passes write
    /// the pages many of their dispatches share (indexes, the learning counts) once; <see cref="SettleInterval"/> keeps a slow
    /// channel's outcomes from waiting for the whole pass.
    /// </summary>
    /// <value>Defaults to 500.</value>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long a pass hands messages over before it writes the outcomes it has (10 ms to 1 hour, less than
    /// <see cref="LeaseDuration"/>): with a slow channel, sent messages are marked and their receipts tracked at least this
    /// often, and a worker that dies mid-pass leaves no more than this much sending to reconcile. A fast channel's pass is
    /// written once, at its end.
    /// </summary>
    /// <value>Defaults to 1 second.</value>
    public TimeSpan SettleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim's lease lasts: at least twice <see cref="AttemptTimeout"/> (at most one day). A dispatch whose lease runs out before it is settled is treated as an unknown outcome.</summary>
    /// <value>Defaults to 5 minutes.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long <see cref="DispatchWorker.RunAsync"/> waits when nothing is due (10 ms to 1 hour).</summary>
    /// <value>Defaults to 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most one call to a channel may take (100 ms to 10 minutes); running out is an unknown outcome.</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most calls to a channel for one dispatch (1 to 100); transient failures beyond it are dead-lettered.</summary>
    /// <value>Defaults to 10.</value>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The delay after the first transient failure (1 ms to 1 hour); each later one doubles it, with jitter, up to <see cref="RetryMaxDelay"/>.</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest delay between attempts (at least <see cref="RetryBaseDelay"/>, at most 1 day).</summary>
    /// <value>Defaults to 1 hour.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long after it was queued a dispatch may still be sent (1 minute to 30 days): later it is dead-lettered (or cancelled, if contact policy kept deferring it).</summary>
    /// <value>Defaults to 24 hours.</value>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The circuit breaker and rate limit of channels without an entry in <see cref="Channels"/>.</summary>
    public ChannelResilienceOptions DefaultChannel { get; set; } = new();

    /// <summary>Per-channel circuit breakers and rate limits, by channel name (for example a provider's 100 messages a second for <c>sms</c>).</summary>
    public Dictionary<string, ChannelResilienceOptions> Channels { get; } = new(StringComparer.Ordinal);

    /// <summary>The settings of one channel.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns>Its entry in <see cref="Channels"/>, else <see cref="DefaultChannel"/>.</returns>
    public ChannelResilienceOptions For(Channel channel) => Channels.TryGetValue(channel.Name, out var options) ? options : DefaultChannel;
}

/// <summary>The circuit breaker and rate limit of one channel.</summary>
public sealed class ChannelResilienceOptions
{
    /// <summary>The most calls a second to the channel, or <see langword="null"/> for no limit (1 to 1,000,000). Dispatches over it wait; none is dropped.</summary>
    public int? PermitsPerSecond { get; set; }

    /// <summary>The share of failed or unknown calls that opens the circuit (0.01 to 1).</summary>
    /// <value>Defaults to 0.5.</value>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The fewest calls within <see cref="BreakerSamplingDuration"/> before the circuit may open (2 to 10,000).</summary>
    /// <value>Defaults to 20.</value>
    public int BreakerMinimumThroughput { get; set; } = 20;

    /// <summary>The window the failure ratio is measured over (500 ms to 1 day).</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit stays open (500 ms to 1 day); its dispatches wait, none is dropped.</summary>
    /// <value>Defaults to 1 minute.</value>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Validates <see cref="DispatchOptions"/> when the host starts: each setting is named with its value and range.</summary>
public sealed class DispatchOptionsValidator : IValidateOptions<DispatchOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DispatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Range(failures, "DispatchOptions.BatchSize", options.BatchSize, 1, 10_000);
        Range(failures, "DispatchOptions.MaxAttempts", options.MaxAttempts, 1, 100);
        Range(failures, "DispatchOptions.AttemptTimeout", options.AttemptTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        var twiceTheAttempt = options.AttemptTimeout <= TimeSpan.FromDays(1) ? options.AttemptTimeout * 2 : TimeSpan.MaxValue;
        Range(failures, "DispatchOptions.LeaseDuration", options.LeaseDuration, twiceTheAttempt, TimeSpan.FromDays(1), "at least twice AttemptTimeout");
        Range(failures, "DispatchOptions.SettleInterval", options.SettleInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        if (options.SettleInterval >= options.LeaseDuration && options.LeaseDuration > TimeSpan.Zero)
        {
            failures.Add($"DispatchOptions.SettleInterval is {options.SettleInterval}; it must be less than DispatchOptions.LeaseDuration ({options.LeaseDuration}).");
        }

        Range(failures, "DispatchOptions.PollInterval", options.PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        Range(failures, "DispatchOptions.RetryBaseDelay", options.RetryBaseDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Range(failures, "DispatchOptions.RetryMaxDelay", options.RetryMaxDelay, options.RetryBaseDelay, TimeSpan.FromDays(1), "at least RetryBaseDelay");
        Range(failures, "DispatchOptions.GiveUpAfter", options.GiveUpAfter, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30));
        if (options.DefaultChannel is null)
        {
            failures.Add("DispatchOptions.DefaultChannel must be set.");
        }
        else
        {
            Channel(failures, "DispatchOptions.DefaultChannel", options.DefaultChannel);
        }

        foreach (var (channel, settings) in options.Channels)
        {
            if (settings is null)
            {
                failures.Add($"DispatchOptions.Channels[{channel}] must not be null.");
                continue;
            }

            Channel(failures, $"DispatchOptions.Channels[{channel}]", settings);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Channel(List<string> failures, string prefix, ChannelResilienceOptions o)
    {
        if (o.PermitsPerSecond is { } permits)
        {
            Range(failures, prefix + ".PermitsPerSecond", permits, 1, 1_000_000);
        }

        if (!(o.BreakerFailureRatio is >= 0.01 and <= 1))
        {
            failures.Add($"{prefix}.BreakerFailureRatio is {o.BreakerFailureRatio}; it must be between 0.01 and 1.");
        }

        Range(failures, prefix + ".BreakerMinimumThroughput", o.BreakerMinimumThroughput, 2, 10_000);
        Range(failures, prefix + ".BreakerSamplingDuration", o.BreakerSamplingDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1));
        Range(failures, prefix + ".BreakerBreakDuration", o.BreakerBreakDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1));
    }

    private static void Range(List<string> failures, string option, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{option} is {value}; it must be between {min} and {max}.");
        }
    }

    private static void Range(List<string> failures, string option, TimeSpan value, TimeSpan min, TimeSpan max, string? minWords = null)
    {
        if (value < min || value > max)
        {
            failures.Add($"{option} is {value}; it must be between {minWords ?? min.ToString()} and {max}.");
        }
    }
}
