using System.Text.RegularExpressions;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// Removes contact data from text the SDK stores or logs but did not write itself (a provider's error message can quote the
/// recipient's address): e-mail addresses and phone numbers become <c>[email]</c> and <c>[phone]</c>.
/// </summary>
internal static partial class Redaction
{
    /// <summary>The text without e-mail addresses and phone numbers (runs of at least eight digits, with the usual separators).</summary>
    /// <param name="text">The text, or <see langword="null"/>.</param>
    /// <returns>The redacted text, or <see langword="null"/>.</returns>
    public static string? RedactContacts(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var withoutEmails = Emails().Replace(text, "[email]");
        return Phones().Replace(withoutEmails, static m => m.Value.Count(char.IsAsciiDigit) >= 8 ? "[phone]" : m.Value);
    }

    [GeneratedRegex(@"[^\s<>""'@,;:()\[\]]+@[^\s<>""'@,;:()\[\]]+", RegexOptions.CultureInvariant)]
    private static partial Regex Emails();

    [GeneratedRegex(@"\+?\d[\d\s().\-]{6,}\d", RegexOptions.CultureInvariant)]
    private static partial Regex Phones();
}
