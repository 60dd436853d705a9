using System.Globalization;

namespace Engagement.Sdk.Consent;

/// <summary>Validates consent records before they are appended: a grant that could not be demonstrated is refused.</summary>
public static class ConsentRecordValidator
{
    /// <summary>Throws <see cref="EngagementValidationException"/> naming the first field of <paramref name="record"/> that breaks a rule.</summary>
    /// <param name="record">The record.</param>
    /// <param name="now">The current instant: a record may not take effect in the future.</param>
    /// <param name="maxFutureSkew">How far ahead of <paramref name="now"/> a producer's clock may be.</param>
    public static void Validate(ConsentRecord record, DateTimeOffset now, TimeSpan maxFutureSkew)
    {
        ArgumentNullException.ThrowIfNull(record);
        Text.RequireToken("recordId", record.RecordId);
        if (record.CustomerId.IsEmpty)
        {
            throw new EngagementValidationException("customerId", null, "a consent record must name its subject");
        }

        if (record.Purpose.IsEmpty)
        {
            throw new EngagementValidationException("purpose", null, "a consent record must name its purpose");
        }

        Text.RequireToken("source", record.Source, 256);
        if (record.EffectiveAt == default)
        {
            throw new EngagementValidationException("effectiveAt", Format(record.EffectiveAt), "a consent record needs a real time, not the default value");
        }

        if (record.EffectiveAt > now + maxFutureSkew)
        {
            throw new EngagementValidationException("effectiveAt", Format(record.EffectiveAt), "a consent record cannot take effect in the future");
        }

        if (record.RecordedAt is { } recorded && recorded > now + maxFutureSkew)
        {
            throw new EngagementValidationException("recordedAt", Format(recorded), "a consent record cannot have been recorded in the future");
        }

        if (record.ExpiresAt is { } expiry && expiry <= record.EffectiveAt)
        {
            throw new EngagementValidationException("expiresAt", Format(expiry), "must be later than effectiveAt");
        }

        if (record.Status is ConsentStatus.Granted or ConsentStatus.PendingConfirmation)
        {
            if (record.Evidence is null)
            {
                throw new EngagementValidationException("evidence", null, "a grant must carry evidence, or it could not be demonstrated");
            }

            Text.RequireToken("evidence.noticeVersion", record.Evidence.NoticeVersion);
            Text.RequireToken("evidence.collectionPoint", record.Evidence.CollectionPoint, 256);
            if (record.Channel is { } channel && Channels.ChannelAddress.KindFor(channel) is { } kind)
            {
                if (record.Identifier is null)
                {
                    throw new EngagementValidationException("identifier", null, $"a grant on {channel} must name the {kind} it is for: consent belongs to the address, so a changed address starts with none");
                }

                if (record.Identifier.Kind != kind)
                {
                    throw new EngagementValidationException("identifier.kind", record.Identifier.Kind.Name, $"a grant on {channel} must be for a {kind} identifier");
                }
            }
        }

        if (record.Evidence is { } evidence)
        {
            // Optional evidence is text that is shown, exported and logged like the rest: no control characters either.
            RequireOptionalToken("evidence.ipAddress", evidence.IpAddress, 64);
            RequireOptionalToken("evidence.userAgent", evidence.UserAgent, 1024);
            RequireOptionalToken("evidence.tokenHash", evidence.TokenHash, 128);
            RequireOptionalToken("evidence.confirmsRecordId", evidence.ConfirmsRecordId, 128);
            RequireOptionalToken("evidence.orderReference", evidence.OrderReference, 128);
        }

        if (record.Status == ConsentStatus.PendingConfirmation && string.IsNullOrEmpty(record.Evidence?.TokenHash))
        {
            throw new EngagementValidationException("evidence.tokenHash", null, "a pending double opt-in must carry the hash of its confirmation token");
        }

        if (record.LawfulBasis == LawfulBasis.SoftOptIn)
        {
            if (record.Purpose != Purpose.Marketing)
            {
                throw new EngagementValidationException("lawfulBasis", record.LawfulBasis, "the soft opt-in covers direct marketing only");
            }

            if (string.IsNullOrEmpty(record.Evidence?.OrderReference))
            {
                throw new EngagementValidationException("evidence.orderReference", null, "a soft opt-in must name the order in the course of which the address was obtained");
            }
        }

        if (record.Status == ConsentStatus.Granted && record.LawfulBasis == LawfulBasis.Contract && !record.Purpose.IsTransactional)
        {
            throw new EngagementValidationException("lawfulBasis", record.LawfulBasis, $"the contract is no lawful basis for {record.Purpose}; it covers transactional messages only");
        }
    }

    private static void RequireOptionalToken(string field, string? value, int maxLength)
    {
        if (value is not null)
        {
            Text.RequireToken(field, value, maxLength);
        }
    }

    private static string Format(DateTimeOffset value) => value.ToString("O", CultureInfo.InvariantCulture);
}
