using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Channels;

/// <summary>What became of a message the engine decided to send.</summary>
/// <param name="DispatchId">The dispatch.</param>
/// <param name="Status">
/// <see cref="DispatchStatus.Queued"/>: the dispatch is in the outbox (a <see cref="DispatchWorker"/> delivers it). When
/// the dispatch id had been begun before, <see cref="WasReplay"/> says so and nothing was queued again; read the dispatch
/// (<see cref="IDispatchStore.GetAsync"/>) for where it stands now.
/// </param>
/// <param name="Attempts">How many times the channel was called: 0 when the message is queued.</param>
/// <param name="Error">The last error: <see langword="null"/> when the message is queued.</param>
public sealed record DispatchResult(string DispatchId, DispatchStatus Status, int Attempts, string? Error)
{
    /// <summary>Whether this call found the dispatch already begun and queued nothing.</summary>
    public bool WasReplay { get; init; }
}

/// <summary>
/// The engine's side of the transactional outbox: a decided message is written as <see cref="DispatchStatus.Queued"/> in the
/// unit of work of the event that decided it (so it is stored with the event or not at all), and a held message is kept,
/// rescheduled, cancelled or released into the queue. Nothing here calls a channel: a <see cref="DispatchWorker"/> does,
/// outside event tracking, so a slow or failing provider never slows ingestion.
/// </summary>
public sealed class DispatchOutbox
{
    private readonly HashSet<Channel> _channels;
    private readonly IDispatchStore _store;
    private readonly TimeProvider _time;

    /// <summary>Creates the outbox.</summary>
    /// <param name="senders">The channel senders (which channels can be sent on).</param>
    /// <param name="store">The dispatch log.</param>
    /// <param name="time">The clock.</param>
    public DispatchOutbox(IEnumerable<IChannelSender> senders, IDispatchStore store, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(senders);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _channels = [.. senders.Select(static s => s.Channel)];
    }

    /// <summary>The dispatch log the outbox writes to.</summary>
    internal IDispatchStore Store => _store;

    /// <summary>Whether a sender is registered for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns><see langword="true"/> when messages can be sent on it.</returns>
    public bool CanSend(Channel channel) => _channels.Contains(channel);

    /// <summary>Writes a decided message to the outbox, due at once, unless its dispatch id was begun before.</summary>
    /// <param name="record">The dispatch (its status is set to queued).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Queued, or the replay of an id begun before.</returns>
    /// <exception cref="EngagementValidationException">No sender is registered for the channel.</exception>
    public async ValueTask<DispatchResult> EnqueueAsync(DispatchRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!CanSend(record.Channel))
        {
            throw new EngagementValidationException("channel", record.Channel.Name, "no sender is registered for this channel (AddChannel)");
        }

        // A record made queued and due (as the decision paths make it) is written as it is: a copy is ~300 bytes.
        var queued = record.Status == DispatchStatus.Queued && record.DueAt is not null ? record : record with { Status = DispatchStatus.Queued, DueAt = record.DueAt ?? record.CreatedAt };
        return await _store.TryBeginAsync(queued, cancellationToken).ConfigureAwait(false)
            ? new DispatchResult(record.DispatchId, DispatchStatus.Queued, 0, null)
            : new DispatchResult(record.DispatchId, DispatchStatus.Queued, 0, null) { WasReplay = true };
    }

    /// <summary>
    /// Logs a control group's would-be send: a dispatch that is never sent (<see cref="DispatchStatus.Cancelled"/> with the reason
    /// <see cref="DispatchReasons.ControlGroup"/>), not counted by caps, kept with its choice probability for uplift.
    /// </summary>
    /// <returns>The dispatch id.</returns>
    internal async ValueTask<string> LogWithheldAsync(DispatchRecord record, CancellationToken cancellationToken)
    {
        var withheld = record with { Status = DispatchStatus.Cancelled, Reason = DispatchReasons.ControlGroup, Error = "Withheld: the customer is in a control group.", CompletedAt = record.CreatedAt };
        await _store.TryBeginAsync(withheld, cancellationToken).ConfigureAwait(false);
        return record.DispatchId;
    }

    /// <summary>Writes a held message to the dispatch log (status <see cref="DispatchStatus.Held"/>); not sent, not counted by caps.</summary>
    internal ValueTask<bool> HoldAsync(DispatchRecord held, CancellationToken cancellationToken)
        => _store.TryBeginAsync(held with { Status = DispatchStatus.Held }, cancellationToken);

    /// <summary>Replaces a held message (rescheduled or cancelled) if it is still held.</summary>
    internal ValueTask<bool> UpdateHeldAsync(DispatchRecord record, CancellationToken cancellationToken)
        => _store.TryUpdateAsync(record, DispatchStatus.Held, cancellationToken);

    /// <summary>One customer's held messages (held within the longest hold there can be), oldest first.</summary>
    internal async ValueTask<List<DispatchRecord>> ListHeldAsync(CustomerId customerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var records = await _store.ListAsync(customerId, now - ActionCatalog.MaxHoldFor, cancellationToken).ConfigureAwait(false);
        var held = new List<DispatchRecord>();
        foreach (var record in records)
        {
            if (record.Status == DispatchStatus.Held)
            {
                held.Add(record);
            }
        }

        return held;
    }

    /// <summary>Every held message, oldest first.</summary>
    internal IAsyncEnumerable<DispatchRecord> ListHeldAsync(CancellationToken cancellationToken)
        => _store.ListByStatusAsync(DispatchStatus.Held, cancellationToken);

    /// <summary>
    /// Moves a held message into the queue (counted by caps from now) only if it is still held, so two releases of one message
    /// never both queue it.
    /// </summary>
    internal async ValueTask<DispatchResult> ReleaseAsync(DispatchRecord held, CancellationToken cancellationToken)
    {
        if (!CanSend(held.Channel))
        {
            throw new EngagementValidationException("channel", held.Channel.Name, "no sender is registered for this channel (AddChannel)");
        }

        var now = _time.GetUtcNow();
        var queued = held with { Status = DispatchStatus.Queued, CreatedAt = now, DueAt = now };
        return await _store.TryUpdateAsync(queued, DispatchStatus.Held, cancellationToken).ConfigureAwait(false)
            ? new DispatchResult(held.DispatchId, DispatchStatus.Queued, 0, null)
            : new DispatchResult(held.DispatchId, DispatchStatus.Queued, 0, null) { WasReplay = true };
    }
}
