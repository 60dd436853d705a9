using System.Text;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// One way of recognising a customer: an email address, a phone number, a device, an anonymous cookie, a loyalty card.
/// The value is normalised on creation, so two spellings of one address are one identifier: every value is trimmed and put
/// in Unicode normalisation form C (composed characters); emails keep their local part and lower-case their domain; phone
/// numbers become E.164 (<c>+</c> and 8 to 15 digits); other kinds are kept as given. Control characters (CR, LF, tab, NUL
/// and the other C0 and C1 controls) are refused in every kind.
/// </summary>
public sealed record Identifier
{
    /// <summary>Creates an identifier, normalising and validating its value.</summary>
    /// <param name="kind">What kind of identifier it is.</param>
    /// <param name="value">The value as received.</param>
    /// <exception cref="EngagementValidationException">The value is not a valid identifier of that kind.</exception>
    [JsonConstructor]
    public Identifier(IdentifierKind kind, string value)
    {
        if (kind.IsEmpty)
        {
            throw new EngagementValidationException("identifier.kind", null, "an identifier needs a kind");
        }

        Kind = kind;
        Value = Normalise(kind, value);
    }

    /// <summary>The kind of identifier.</summary>
    public IdentifierKind Kind { get; }

    /// <summary>The normalised value.</summary>
    [PersonalData]
    public string Value { get; }

    /// <summary>An email address.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Email(string address) => new(IdentifierKind.Email, address);

    /// <summary>A phone number in international format.</summary>
    /// <param name="number">The number, such as <c>+44 20 7946 0018</c>.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Phone(string number) => new(IdentifierKind.Phone, number);

    /// <summary>A device or push token.</summary>
    /// <param name="deviceId">The device id.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Device(string deviceId) => new(IdentifierKind.Device, deviceId);

    /// <summary>An anonymous cookie or visitor id.</summary>
    /// <param name="anonymousId">The anonymous id.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Anonymous(string anonymousId) => new(IdentifierKind.Anonymous, anonymousId);

    /// <inheritdoc />
    public override string ToString() => Kind.Name + ":" + Value;

    private static string Normalise(IdentifierKind kind, string? value)
    {
        var field = "identifier." + kind.Name;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new EngagementValidationException(field, value, "must not be empty");
        }

        Text.RequireCleanText(field, value);
        var trimmed = value.Trim();

        // One text, one identifier: a decomposed "a\u0301" and the precomposed "\u00E1" are the same character (Unicode NFC).
        if (!trimmed.IsNormalized(NormalizationForm.FormC))
        {
            trimmed = trimmed.Normalize(NormalizationForm.FormC);
        }

        if (kind == IdentifierKind.Email)
        {
            return NormaliseEmail(field, trimmed);
        }

        if (kind == IdentifierKind.Phone)
        {
            return NormalisePhone(field, trimmed);
        }

        if (trimmed.Length > 256)
        {
            throw new EngagementValidationException(field, value, "must be at most 256 characters");
        }

        return trimmed;
    }

    private static string NormaliseEmail(string field, string value)
    {
        var at = value.LastIndexOf('@');
        if (value.Length > 254 || at <= 0 || at == value.Length - 1 || value.IndexOf('@') != at
            || value.AsSpan().ContainsAny(" \t\r\n<>,;\"") || !value.AsSpan(at + 1).Contains('.'))
        {
            throw new EngagementValidationException(field, value, "must be one email address of the form local@domain.tld");
        }

        return string.Concat(value.AsSpan(0, at + 1), value[(at + 1)..].ToLowerInvariant());
    }

    private static string NormalisePhone(string field, string value)
    {
        var builder = new StringBuilder(16);
        var span = value.AsSpan();
        if (span.StartsWith("00"))
        {
            span = span[2..];
            builder.Append('+');
        }
        else if (span.StartsWith("+"))
        {
            span = span[1..];
            builder.Append('+');
        }
        else
        {
            throw new EngagementValidationException(field, value, "must be in international format, starting with + or 00 and the country code");
        }

        foreach (var c in span)
        {
            if (c is >= '0' and <= '9')
            {
                builder.Append(c);
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
            {
                throw new EngagementValidationException(field, value, "may hold only digits, spaces, '-', '.', '(' and ')' after the country code");
            }
        }

        var digits = builder.Length - 1;
        if (digits is < 8 or > 15 || builder[1] == '0')
        {
            throw new EngagementValidationException(field, value, "must have 8 to 15 digits in E.164 with a country code that does not start with 0");
        }

        return builder.ToString();
    }
}
