using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Engagement.Sdk.Channels;

/// <summary>How a dispatch ended.</summary>
/// <param name="DispatchId">The dispatch.</param>
/// <param name="Status">Sent, failed, undeliverable, or pending when it had been begun before (a replay: nothing was sent again).</param>
/// <param name="Attempts">How many times the channel was called.</param>
/// <param name="Error">The last error, when it did not succeed.</param>
public sealed record DispatchResult(string DispatchId, DispatchStatus Status, int Attempts, string? Error)
{
    /// <summary>Whether this call found the dispatch already begun and sent nothing.</summary>
    public bool WasReplay { get; init; }
}

/// <summary>Retry and timeout settings for channel sends.</summary>
public sealed class DispatchOptions
{
    /// <summary>Retries after the first attempt, for transient failures only (0 to 10).</summary>
    /// <value>Defaults to 3.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's delay; later ones grow exponentially, with jitter.</summary>
    /// <value>Defaults to 200 ms.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The most one attempt may take.</summary>
    /// <value>Defaults to 10 s.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Sends messages through the host's channel senders without sending twice and without losing one: the dispatch is written
/// to the log as pending before the channel is called (a dispatch id that is already there is not sent again), retried with
/// exponential back-off and jitter on transient failures (never on cancellation), and completed with its outcome.
/// </summary>
public sealed class ChannelDispatcher
{
    private readonly IStoreTransactions _transactions;
    private readonly Dictionary<Channel, IChannelSender> _senders;
    private readonly IDispatchStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly ResiliencePipeline<SendResult> _pipeline;
    private readonly ILogger _logger;

    /// <summary>Creates the dispatcher.</summary>
    /// <param name="senders">The channel senders (one per channel; a later one replaces an earlier one).</param>
    /// <param name="store">The dispatch log.</param>
    /// <param name="timeProvider">The clock, also used for retry delays.</param>
    /// <param name="options">Retry and timeout settings.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="transactions">The storage's units of work: what was written before a send is made durable before it.</param>
    public ChannelDispatcher(IEnumerable<IChannelSender> senders, IDispatchStore store, TimeProvider timeProvider, IOptions<DispatchOptions> options, ILogger<ChannelDispatcher>? logger = null, IStoreTransactions? transactions = null)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        _senders = [];
        foreach (var sender in senders)
        {
            _senders[sender.Channel] = sender;
        }

        _store = store;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<ChannelDispatcher>.Instance;
        _transactions = transactions ?? NoTransactions.Instance;
        var o = options.Value;
        var builder = new ResiliencePipelineBuilder<SendResult> { TimeProvider = timeProvider };
        if (o.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<SendResult>
            {
                MaxRetryAttempts = o.MaxRetries,
                Delay = o.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<SendResult>()
                    .Handle<Exception>(ex => ex is not OperationCanceledException || ex is TimeoutRejectedException)
                    .HandleResult(r => r.Outcome == SendOutcome.TransientFailure),
            });
        }

        _pipeline = builder.AddTimeout(o.AttemptTimeout).Build();
    }

    /// <summary>Whether a sender is registered for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns><see langword="true"/> when messages can be sent on it.</returns>
    public bool CanSend(Channel channel) => _senders.ContainsKey(channel);

    /// <summary>Sends <paramref name="message"/> once.</summary>
    /// <param name="message">The message; its dispatch id decides whether it was sent before.</param>
    /// <param name="cancellationToken">Cancels the send (the dispatch stays pending, to be resumed).</param>
    /// <returns>How it ended.</returns>
    public async ValueTask<DispatchResult> DispatchAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_senders.TryGetValue(message.Channel, out var sender))
        {
            throw new EngagementValidationException("channel", message.Channel.Name, "no sender is registered for this channel (AddChannel)");
        }

        var record = new DispatchRecord
        {
            DispatchId = message.DispatchId,
            CustomerId = message.CustomerId,
            Channel = message.Channel,
            Purpose = message.Purpose,
            ActionId = message.ActionId,
            CreatedAt = _timeProvider.GetUtcNow(),
        };

        if (!await _store.TryBeginAsync(record, cancellationToken).ConfigureAwait(false))
        {
            return new DispatchResult(message.DispatchId, DispatchStatus.Pending, 0, null) { WasReplay = true };
        }

        // The dispatch log entry (and what led to it) is durable before the channel is called: a crash after the send never
        // sends again, and one before it leaves a pending entry to resume.
        await _transactions.FlushAsync(cancellationToken).ConfigureAwait(false);

        return await SendAsync(sender, message, cancellationToken).ConfigureAwait(false);
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
        var records = await _store.ListAsync(customerId, now - Decisioning.ActionCatalog.MaxHoldFor, cancellationToken).ConfigureAwait(false);
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
    /// Sends a held message once: it becomes pending (and counted by caps from now) only if it is still held, so two releases of
    /// one message never both send.
    /// </summary>
    internal async ValueTask<DispatchResult> ReleaseAsync(OutboundMessage message, DispatchRecord held, CancellationToken cancellationToken)
    {
        if (!_senders.TryGetValue(message.Channel, out var sender))
        {
            throw new EngagementValidationException("channel", message.Channel.Name, "no sender is registered for this channel (AddChannel)");
        }

        var pending = held with { Status = DispatchStatus.Pending, CreatedAt = _timeProvider.GetUtcNow() };
        if (!await _store.TryUpdateAsync(pending, DispatchStatus.Held, cancellationToken).ConfigureAwait(false))
        {
            return new DispatchResult(message.DispatchId, DispatchStatus.Pending, 0, null) { WasReplay = true };
        }

        await _transactions.FlushAsync(cancellationToken).ConfigureAwait(false);
        return await SendAsync(sender, message, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<DispatchResult> SendAsync(IChannelSender sender, OutboundMessage message, CancellationToken cancellationToken)
    {
        var attempts = 0;
        SendResult result;
        string? error = null;
        try
        {
            result = await _pipeline.ExecuteAsync(
                async (token) =>
                {
                    attempts++;
                    return await sender.SendAsync(message, token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
            error = result.Detail;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result = new SendResult(SendOutcome.TransientFailure, ex.Message);
            error = ex.GetType().Name + ": " + ex.Message;
        }

        var status = result.Outcome switch
        {
            SendOutcome.Accepted => DispatchStatus.Sent,
            SendOutcome.PermanentFailure => DispatchStatus.Undeliverable,
            _ => DispatchStatus.Failed,
        };

        await _store.CompleteAsync(message.DispatchId, status, attempts, status == DispatchStatus.Sent ? null : error, _timeProvider.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        EngagementTelemetry.RecordDispatch(message.Channel, status);
        if (status != DispatchStatus.Sent)
        {
            Log.DispatchFailed(_logger, message.DispatchId, message.Channel.Name, status.ToString(), attempts);
        }

        return new DispatchResult(message.DispatchId, status, attempts, status == DispatchStatus.Sent ? null : error);
    }
}
