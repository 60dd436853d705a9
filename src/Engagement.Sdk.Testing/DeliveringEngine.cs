using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Testing;

/// <summary>
/// For tests: an <see cref="IEngagementEngine"/> that, after each call that can queue a message, runs the
/// <see cref="DispatchWorker"/> until nothing is due, so a test sees at once what a running worker would have sent. The
/// engine itself still only queues; this is the host's worker, run inline.
/// </summary>
public sealed class DeliveringEngine : IEngagementEngine
{
    private readonly IEngagementEngine _engine;
    private readonly DispatchWorker _worker;

    /// <summary>Wraps an engine and its worker.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="worker">The worker that delivers its outbox.</param>
    public DeliveringEngine(IEngagementEngine engine, DispatchWorker worker)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _worker = worker ?? throw new ArgumentNullException(nameof(worker));
    }

    /// <summary>The engine and worker of a service provider built with <c>AddEngagement()</c>.</summary>
    /// <param name="services">The provider.</param>
    /// <returns>The delivering engine.</returns>
    public static DeliveringEngine From(IServiceProvider services)
        => new(services.GetRequiredService<IEngagementEngine>(), services.GetRequiredService<DispatchWorker>());

    /// <summary>What the worker settled in the last call (empty when nothing was due).</summary>
    public ImmutableArray<DispatchRecord> LastDelivered { get; private set; } = [];

    /// <inheritdoc />
    public async ValueTask<TrackResult> TrackAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
    {
        var result = await _engine.TrackAsync(engagementEvent, cancellationToken).ConfigureAwait(false);
        LastDelivered = await _worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc />
    public async ValueTask<ImmutableArray<BatchItemResult>> TrackBatchAsync(IEnumerable<EngagementEvent> events, CancellationToken cancellationToken = default)
    {
        var results = await _engine.TrackBatchAsync(events, cancellationToken).ConfigureAwait(false);
        LastDelivered = await _worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <inheritdoc />
    public ValueTask<AppendOutcome> RecordConsentAsync(ConsentRecord record, CancellationToken cancellationToken = default)
        => _engine.RecordConsentAsync(record, cancellationToken);

    /// <inheritdoc />
    public ValueTask<Decision> DecideAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => _engine.DecideAsync(customerId, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<ImmutableArray<HeldMessageOutcome>> ReleaseHeldAsync(CancellationToken cancellationToken = default)
    {
        var outcomes = await _engine.ReleaseHeldAsync(cancellationToken).ConfigureAwait(false);
        LastDelivered = await _worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        return outcomes;
    }

    /// <inheritdoc />
    public async ValueTask<Sdk.Journeys.JourneySweepResult> SweepJourneysAsync(CancellationToken cancellationToken = default)
    {
        var result = await _engine.SweepJourneysAsync(cancellationToken).ConfigureAwait(false);
        LastDelivered = await _worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc />
    public async ValueTask<Sdk.Segments.SegmentSweepResult> SweepSegmentsAsync(CancellationToken cancellationToken = default)
    {
        var result = await _engine.SweepSegmentsAsync(cancellationToken).ConfigureAwait(false);
        LastDelivered = await _worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }
}
