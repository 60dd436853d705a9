using Microsoft.Extensions.Logging;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// The SDK's source-generated log messages. They carry ids only, never personal data: customer ids are <see cref="LoggedId"/>s,
/// hashed or redacted unless the host opted in to plain ids.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Event {EventId} of type {EventType} was a duplicate and was ignored")]
    public static partial void DuplicateEvent(ILogger logger, string eventId, string eventType);


    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Decision for customer {CustomerId}: action {ActionId} on {Channel}")]
    public static partial void Decided(ILogger logger, LoggedId customerId, string actionId, string? channel);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Dispatch of action {ActionId} to customer {CustomerId} on {Channel} suppressed: {Reason}")]
    public static partial void Suppressed(ILogger logger, string actionId, LoggedId customerId, string channel, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Dispatch {DispatchId} on {Channel} ended {Status} after {Attempts} attempt(s)")]
    public static partial void DispatchFailed(ILogger logger, string dispatchId, string channel, string status, int attempts);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "A delivery pass failed ({ExceptionType}); the claimed dispatches are reconciled when their leases run out")]
    public static partial void DeliveryPassFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Dispatch {DispatchId} on {Channel}: the lease ran out before it was settled; another worker reconciles it")]
    public static partial void LeaseLost(ILogger logger, string dispatchId, string channel);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Dispatch {DispatchId}: its receipt was refused ({ExceptionType})")]
    public static partial void ReceiptRefused(ILogger logger, string dispatchId, string exceptionType);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Action {ActionId} for customer {CustomerId} on {Channel} held ({Reason}) until {ReleaseAt}")]
    public static partial void Held(ILogger logger, string actionId, LoggedId customerId, string channel, string reason, DateTimeOffset releaseAt);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Held action {ActionId} for customer {CustomerId} cancelled: {Reason}")]
    public static partial void HeldCancelled(ILogger logger, string actionId, LoggedId customerId, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Profile of customer {CustomerId} changed concurrently; retrying (attempt {Attempt})")]
    public static partial void ProfileConflict(ILogger logger, LoggedId customerId, int attempt);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Profile {MergedId} merged into {SurvivorId} (shared {IdentifierKind} identifier)")]
    public static partial void Merged(ILogger logger, LoggedId mergedId, LoggedId survivorId, string? identifierKind);
}
