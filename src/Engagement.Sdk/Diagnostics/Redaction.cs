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

    /// <summary>
    /// The offending value of a validation error as its message may show it: the whole value hidden for an email or phone
    /// field (even a malformed address is personal data); contact data removed for other fields that name a person (customer
    /// ids, identifiers, addresses); elsewhere e-mail addresses and international phone numbers (<c>+</c> and at least eight
    /// digits) removed.
    /// </summary>
    /// <param name="field">The field that holds the value.</param>
    /// <param name="text">The value as text.</param>
    /// <returns>The value as shown.</returns>
    public static string RedactValue(string field, string text)
    {
        if (text.Length == 0)
        {
            return text;
        }

        if (Names(field, "email") || Names(field, "phone") || Names(field, "sms"))
        {
            return $"[redacted, {text.Length} characters]";
        }

        if (Names(field, "customer") || Names(field, "identifier") || Names(field, "address") || Names(field, "recipient") || Names(field, "subject"))
        {
            return RedactContacts(text)!;
        }

        var withoutEmails = Emails().Replace(text, "[email]");
        return InternationalPhones().Replace(withoutEmails, static m => m.Value.Count(char.IsAsciiDigit) >= 8 ? "[phone]" : m.Value);
    }

    private static bool Names(string field, string word) => field.Contains(word, StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex(@"\+\d[\d\s().\-]{6,}\d", RegexOptions.CultureInvariant)]
    private static partial Regex InternationalPhones();

    [GeneratedRegex(@"[^\s<>""'@,;:()\[\]]+@[^\s<>""'@,;:()\[\]]+", RegexOptions.CultureInvariant)]
    private static partial Regex Emails();

    [GeneratedRegex(@"\+?\d[\d\s().\-]{6,}\d", RegexOptions.CultureInvariant)]
    private static partial Regex Phones();
}
