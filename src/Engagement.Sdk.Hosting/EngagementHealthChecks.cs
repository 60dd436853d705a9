using System.Globalization;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Hosting;

/// <summary>
/// Whether the stores answer: reads a profile and a dispatch that do not exist (cheap on every adapter). Unhealthy, naming
/// the exception's type (never its text), when either read fails.
/// </summary>
public sealed class EngagementStoreHealthCheck(IProfileStore profiles, IDispatchStore dispatches) : IHealthCheck
{
    private static readonly CustomerId Probe = new("engagement-health-check");

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await profiles.GetAsync(Probe, cancellationToken).ConfigureAwait(false);
            await dispatches.GetAsync("engagement-health-check", cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The profile and dispatch stores answered.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"The store did not answer ({ex.GetType().FullName}).");
        }
    }
}

/// <summary>
/// Whether the periodic work keeps up: each work's last successful pass must have ended within its interval plus
/// <see cref="EngagementBackgroundOptions.MaxLag"/> (counted from the service's start before the first). The registration's
/// failure status (degraded by default) when a work lags or the service is not running; the data give each work's lag in seconds.
/// </summary>
public sealed class EngagementBackgroundHealthCheck(EngagementBackgroundStatus status, TimeProvider time, IOptions<EngagementBackgroundOptions> options) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (status.StartedAt is not { } started)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The engagement background service is not running."));
        }

        var now = time.GetUtcNow();
        var maxLag = options.Value.MaxLag;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var lagging = new List<string>();
        foreach (var work in status.Works)
        {
            var lag = now - (work.LastSucceededAt ?? started) - work.Interval;
            data[work.Name + ".lag_seconds"] = Math.Max(0, lag.TotalSeconds);
            if (lag > maxLag)
            {
                lagging.Add(string.Create(CultureInfo.InvariantCulture, $"{work.Name} ({lag.TotalSeconds:0} s behind{(work.LastFailure is null ? string.Empty : ", last failure " + work.LastFailure)})"));
            }
        }

        return Task.FromResult(lagging.Count == 0
            ? HealthCheckResult.Healthy("The engagement background work keeps up.", data)
            : new HealthCheckResult(context.Registration.FailureStatus, "Falling behind: " + string.Join("; ", lagging) + ".", data: data));
    }
}
