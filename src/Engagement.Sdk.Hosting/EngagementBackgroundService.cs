using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Hosting;

/// <summary>
/// Runs every registered <see cref="IEngagementBackgroundWork"/> (outbox delivery, the release of held messages and the host's
/// own) side by side for the life of the host: a pass, again at once while a pass finds work, else a wait of the work's
/// interval on the <see cref="TimeProvider"/>. A pass that fails is logged (the exception's type, never its text), counted and
/// tried again after the interval; the other works go on. When the host stops, the passes in flight are cancelled and allowed to
/// hand back what they hold (the delivery worker settles a message in flight as an unknown outcome, reconciled later), and the
/// service ends when they have.
/// </summary>
public sealed partial class EngagementBackgroundService : BackgroundService
{
    private static readonly ActivitySource Source = new(Diagnostics.EngagementTelemetry.Name);
    private static readonly Meter Meter = new(Diagnostics.EngagementTelemetry.Name);
    private static readonly Counter<long> Passes = Meter.CreateCounter<long>("engagement.background.passes", "{pass}", "Passes of periodic work (delivery, release of held messages, sweeps), by work and outcome.");
    private static readonly Counter<long> Handled = Meter.CreateCounter<long>("engagement.background.handled", "{item}", "Items the passes of periodic work handled, by work.");
    private static readonly Histogram<double> PassDuration = Meter.CreateHistogram<double>("engagement.background.duration", "ms", "Time one pass of periodic work took, by work.");

    private readonly IReadOnlyList<IEngagementBackgroundWork> _works;
    private readonly EngagementBackgroundStatus _status;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    /// <param name="works">The registered works.</param>
    /// <param name="options">Which of the built-in works run.</param>
    /// <param name="status">Where each work's state is kept.</param>
    /// <param name="time">The clock the waits run on.</param>
    /// <param name="logger">The logger.</param>
    public EngagementBackgroundService(
        IEnumerable<IEngagementBackgroundWork> works,
        IOptions<EngagementBackgroundOptions> options,
        EngagementBackgroundStatus status,
        TimeProvider time,
        ILogger<EngagementBackgroundService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(works);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _works = [.. works.Where(w => w switch
        {
            OutboxDeliveryWork => settings.DeliverOutbox,
            HeldMessageReleaseWork => settings.ReleaseHeldMessages,
            JourneySweepWork => settings.SweepJourneys,
            SegmentSweepWork => settings.SweepSegments,
            _ => true,
        })];
        var twice = _works.GroupBy(w => w.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new EngagementValidationException("IEngagementBackgroundWork.Name", twice.Key, $"each work needs its own name ({string.Join(" and ", twice.Select(w => w.GetType().FullName))} share it)");
        }

        _status = status ?? throw new ArgumentNullException(nameof(status));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? NullLogger<EngagementBackgroundService>.Instance;
    }

    /// <summary>The works this service runs.</summary>
    public IReadOnlyList<IEngagementBackgroundWork> Works => _works;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _status.ServiceStarted(_time.GetUtcNow(), _works);
        LogStarted(_logger, _works.Count, string.Join(", ", _works.Select(w => w.Name)));
        try
        {
            await Task.WhenAll(_works.Select(w => Task.Run(() => RunAsync(w, stoppingToken), CancellationToken.None))).ConfigureAwait(false);
        }
        finally
        {
            _status.ServiceStopped();
            LogStopped(_logger);
        }
    }

    private async Task RunAsync(IEngagementBackgroundWork work, CancellationToken stoppingToken)
    {
        var tag = new KeyValuePair<string, object?>("work", work.Name);
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            _status.PassStarted(work.Name, _time.GetUtcNow());
            int handled;
            using (var activity = Source.StartActivity("engagement.background.pass"))
            {
                activity?.SetTag("work", work.Name);
                try
                {
                    handled = await work.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                    _status.PassSucceeded(work.Name, _time.GetUtcNow(), handled);
                    activity?.SetTag("handled", handled);
                    Passes.Add(1, tag, new KeyValuePair<string, object?>("outcome", "succeeded"));
                    if (handled > 0)
                    {
                        Handled.Add(handled, tag);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, "The host stopped during the pass.");
                    return;
                }
                catch (Exception ex)
                {
                    // The type only: a store's or a channel's message can quote personal data.
                    _status.PassFailed(work.Name, _time.GetUtcNow(), ex);
                    activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                    Passes.Add(1, tag, new KeyValuePair<string, object?>("outcome", "failed"));
                    LogPassFailed(_logger, work.Name, ex.GetType().FullName ?? ex.GetType().Name);
                    handled = 0;
                }
                finally
                {
                    PassDuration.Record(_time.GetElapsedTime(started).TotalMilliseconds, tag);
                }
            }

            if (handled > 0)
            {
                continue;
            }

            try
            {
                await Task.Delay(work.Interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Engagement background service started {Count} work(s): {Works}")]
    private static partial void LogStarted(ILogger logger, int count, string works);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Engagement background service stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "A pass of {Work} failed ({ExceptionType}); it runs again after its interval")]
    private static partial void LogPassFailed(ILogger logger, string work, string exceptionType);
}
