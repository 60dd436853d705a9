using Microsoft.Extensions.Logging;

namespace Engagement.Sdk.Journeys;

/// <summary>The journeys' source-generated log messages (ids only, never personal data).</summary>
internal static partial class JourneyLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Customer {CustomerId} moved from stage {FromStage} to {ToStage} in journey {JourneyId}")]
    public static partial void StageChanged(ILogger logger, Diagnostics.LoggedId customerId, string? fromStage, string toStage, string journeyId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "Journey sweep: {Customers} due customer(s) evaluated")]
    public static partial void Swept(ILogger logger, int customers);
}
