using System.Globalization;

namespace Engagement.Sdk;

/// <summary>
/// Thrown when an input to the SDK breaks a rule. It names the offending field, the value that was given and the rule it
/// broke, so that a caller can report the problem precisely without parsing the message.
/// </summary>
public sealed class EngagementValidationException : ArgumentException
{
    /// <summary>Creates an exception for <paramref name="field"/> holding <paramref name="value"/>, which breaks <paramref name="rule"/>.</summary>
    /// <param name="field">The name of the field or parameter, as the caller knows it (for example <c>event.timestamp</c>).</param>
    /// <param name="value">The offending value, or <see langword="null"/> when none was given.</param>
    /// <param name="rule">The rule that the value breaks, in plain words.</param>
    public EngagementValidationException(string field, object? value, string rule)
        : base(Format(field, value, rule), field)
    {
        Field = field;
        Value = value is null ? null : Diagnostics.Redaction.RedactValue(field, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
        Rule = rule;
    }

    /// <summary>The field or parameter that holds the offending value.</summary>
    public string Field { get; }

    /// <summary>
    /// The offending value as text (control characters escaped in <see cref="Exception.Message"/>), or <see langword="null"/> when
    /// none was given. Personal data is never shown: the value of an email or phone field is hidden whole, and e-mail addresses
    /// and phone numbers in other values are replaced by <c>[email]</c> and <c>[phone]</c>.
    /// </summary>
    public string? Value { get; }

    /// <summary>The rule that the value breaks.</summary>
    public string Rule { get; }

    private static string Format(string field, object? value, string rule)
    {
        var shown = value is null ? "<null>" : Escape(Diagnostics.Redaction.RedactValue(field, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty));
        return $"Invalid {field} '{shown}': {rule}.";
    }

    private static string Escape(string text)
    {
        const int Max = 120;
        var builder = new System.Text.StringBuilder(Math.Min(text.Length, Max) + 8);
        foreach (var c in text)
        {
            if (builder.Length >= Max)
            {
                builder.Append('…');
                break;
            }

            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
