using System.Collections.Frozen;

namespace Engagement.Sdk.Consent;

/// <summary>
/// Recognises inbound SMS opt-out keywords (the CTIA and TCPA set: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT,
/// OPT-OUT, REVOKE), trimmed and in any case. A message that is exactly one of them withdraws marketing for the number.
/// </summary>
public static class OptOutKeywords
{
    private static readonly FrozenSet<string> Keywords = new[]
    {
        "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT-OUT", "OPT OUT", "REVOKE",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The keywords recognised.</summary>
    public static IReadOnlyCollection<string> All => Keywords;

    /// <summary>Whether <paramref name="message"/> is an opt-out keyword.</summary>
    /// <param name="message">The inbound message text.</param>
    /// <returns><see langword="true"/> for an opt-out.</returns>
    public static bool IsOptOut(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return false;
        }

        var trimmed = message.Trim().TrimEnd('.', '!');
        return Keywords.Contains(trimmed);
    }
}
