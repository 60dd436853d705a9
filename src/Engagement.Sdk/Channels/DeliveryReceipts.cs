using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Channels;

/// <summary>
/// Receipts: the events a channel reports about a dispatch (sent, delivered, opened, clicked, bounced, complained). Each is
/// matched to the dispatch it names before anything is written, so a receipt for a message the outbox never handed over (or
/// handed to someone else, on another channel, for another action) is refused; once stored, it feeds learning (a send, the
/// first click on a message), suppresses the address (a hard bounce for everything, a complaint for marketing), and settles a dispatch whose
/// outcome was unknown (a delivery report proves the provider accepted it).
/// </summary>
internal sealed class DeliveryReceipts(IDispatchStore dispatches, IdentityResolver identity, ConsentLedger ledger, AdaptivePropensities propensities, IActionContactLog? contacts, TimeProvider time)
{
    /// <summary>Checks that <paramref name="receipt"/> reports on a dispatch handed to this customer's channel (<paramref name="known"/>: the dispatch as its worker just settled it, not read again).</summary>
    /// <returns>The dispatch.</returns>
    /// <exception cref="EngagementValidationException">It does not.</exception>
    public async ValueTask<DispatchRecord> MatchAsync(MessageEvent receipt, DispatchRecord? known, CancellationToken cancellationToken)
    {
        var dispatch = (known is not null && known.DispatchId == receipt.DispatchId ? known : await dispatches.GetAsync(receipt.DispatchId, cancellationToken).ConfigureAwait(false))
            ?? throw new EngagementValidationException("dispatchId", receipt.DispatchId, "no dispatch with this id is in the outbox: a receipt reports on a message the SDK handed to a channel");
        if (dispatch.Status is not (DispatchStatus.Sent or DispatchStatus.Sending or DispatchStatus.Unknown))
        {
            throw new EngagementValidationException("dispatchId", receipt.DispatchId, $"the dispatch was never handed to a channel (it is {dispatch.Status})");
        }

        if (dispatch.Channel != receipt.Channel)
        {
            throw new EngagementValidationException("channel", receipt.Channel?.Name, $"the dispatch went out on {dispatch.Channel}");
        }

        if (!string.Equals(dispatch.ActionId, receipt.ActionId, StringComparison.Ordinal))
        {
            throw new EngagementValidationException("actionId", receipt.ActionId, $"the dispatch carried {dispatch.ActionId}");
        }

        if (dispatch.CustomerId != receipt.CustomerId && !await SamePersonAsync(dispatch.CustomerId, receipt.CustomerId, cancellationToken).ConfigureAwait(false))
        {
            throw new EngagementValidationException("customerId", receipt.CustomerId.Value, "the dispatch was sent to another customer");
        }

        return dispatch;
    }

    /// <summary>Applies a stored receipt: learning, suppressions, and the settlement of an unknown outcome.</summary>
    /// <remarks>With <paramref name="countSend"/> off, a send is left for the caller to count (the delivery worker counts the sends of a pass at once).</remarks>
    public async ValueTask ApplyAsync(MessageEvent receipt, DispatchRecord dispatch, CustomerProfile? profile, CancellationToken cancellationToken, bool countSend = true)
    {
        var channel = receipt.Channel!.Value;
        switch (receipt)
        {
            case MessageSent when !countSend:
                break;
            case MessageSent:
                // Once per dispatch, whatever the receipt is replayed as.
                await propensities.RecordSendAsync(dispatch, receipt.Timestamp, cancellationToken).ConfigureAwait(false);
                break;
            case MessageClicked:
                // Once per dispatch (the store counts a dispatch's response once: ten clicks on one message are one success of
                // one send), within the attribution window of the send.
                await propensities.RecordResponseAsync(dispatch, receipt.Timestamp, cancellationToken).ConfigureAwait(false);
                break;
            case MessageDismissed when contacts is not null:
                await contacts.RecordAsync(new ActionContact(dispatch.CustomerId, dispatch.ActionId, channel, ActionContactKind.Dismissed, receipt.Timestamp, dispatch.DispatchId), cancellationToken).ConfigureAwait(false);
                break;
            case MessageBounced { IsHard: true }:
                await SuppressAsync(receipt, profile, SuppressionReason.HardBounce, "bounce:", cancellationToken).ConfigureAwait(false);
                break;
            case MessageComplained:
                await SuppressAsync(receipt, profile, SuppressionReason.Complaint, "complaint:", cancellationToken).ConfigureAwait(false);
                break;
        }

        if (dispatch.Status == DispatchStatus.Sending)
        {
            // The worker still holds it and settles it.
            return;
        }

        var updated = dispatch;
        if (dispatch.Status == DispatchStatus.Unknown && receipt is MessageDelivered or MessageOpened or MessageClicked or MessageComplained or MessageDismissed)
        {
            // The provider had the message after all: the outcome is known now, and the dispatch is not reconciled again.
            updated = updated with { Status = DispatchStatus.Sent, Reason = DispatchReasons.Accepted, Error = $"Reconciled by a {receipt.TypeName} receipt.", CompletedAt = time.GetUtcNow(), DueAt = null };
        }

        if (receipt is MessageClicked && dispatch.RespondedAt is null)
        {
            // The first response is kept on the dispatch (for reports and uplift); learning counted it above, once.
            updated = updated with { RespondedAt = receipt.Timestamp };
        }

        if (!ReferenceEquals(updated, dispatch))
        {
            await dispatches.TryUpdateAsync(updated, dispatch.Status, cancellationToken).ConfigureAwait(false);
        }
    }

    // The addresses of the channel's kind the receipt names, else the customer's address on that channel.
    private async ValueTask SuppressAsync(MessageEvent receipt, CustomerProfile? profile, SuppressionReason reason, string source, CancellationToken cancellationToken)
    {
        var channel = receipt.Channel!.Value;
        if (ChannelAddress.KindFor(channel) is not { } kind)
        {
            return;
        }

        var any = false;
        foreach (var address in receipt.Identifiers)
        {
            if (address.Kind == kind)
            {
                any = true;
                await ledger.SuppressAsync(address, reason, source + receipt.DispatchId, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!any && profile is not null && ChannelAddress.TryFind(profile, channel, out var current) && current is not null)
        {
            await ledger.SuppressAsync(current, reason, source + receipt.DispatchId, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> SamePersonAsync(CustomerId a, CustomerId b, CancellationToken cancellationToken)
    {
        var first = await identity.GetAsync(a, cancellationToken).ConfigureAwait(false);
        var second = await identity.GetAsync(b, cancellationToken).ConfigureAwait(false);
        return first is not null && second is not null && first.Id == second.Id;
    }
}
