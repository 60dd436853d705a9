using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk;

/// <summary>
/// An ISO 4217 currency: its three-letter code and the number of minor units (decimals) it is quoted in. Only active
/// national and supranational currency codes are accepted; precious metals, test and "no currency" codes are not money.
/// </summary>
[JsonConverter(typeof(CurrencyJsonConverter))]
public readonly struct Currency : IEquatable<Currency>
{
    private const string Codes =
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF " +
        "CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF " +
        "GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD " +
        "LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP " +
        "PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP " +
        "TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

    private const string ZeroDecimals = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
    private const string ThreeDecimals = "BHD IQD JOD KWD LYD OMR TND";
    private const string FourDecimals = "CLF UYW";

    private static readonly FrozenDictionary<string, int> Known = BuildTable();

    private readonly string? _code;

    // Only the code is kept (8 bytes, so a Money is 24): the minor units are looked up when asked for.
    private Currency(string code) => _code = code;

    /// <summary>The three-letter upper-case ISO 4217 code; empty for <c>default(Currency)</c>.</summary>
    public string Code => _code ?? string.Empty;

    /// <summary>The number of decimals the currency is quoted in (2 for EUR, 0 for JPY, 3 for KWD).</summary>
    public int MinorUnits => _code is null ? 0 : Known[_code];

    /// <summary>Whether this is <c>default(Currency)</c>, which is no currency.</summary>
    public bool IsEmpty => _code is null;

    /// <summary>The euro.</summary>
    public static Currency EUR { get; } = FromCode("EUR");

    /// <summary>The US dollar.</summary>
    public static Currency USD { get; } = FromCode("USD");

    /// <summary>The pound sterling.</summary>
    public static Currency GBP { get; } = FromCode("GBP");

    /// <summary>The Ukrainian hryvnia.</summary>
    public static Currency UAH { get; } = FromCode("UAH");

    /// <summary>Returns the currency with the given code (upper case, exactly three letters).</summary>
    /// <param name="code">The ISO 4217 code, such as <c>EUR</c>.</param>
    /// <returns>The currency.</returns>
    /// <exception cref="EngagementValidationException">The code is not an active ISO 4217 currency code.</exception>
    public static Currency FromCode(string code)
    {
        if (TryFromCode(code, out var currency))
        {
            return currency;
        }

        throw new EngagementValidationException("currency", code, "must be an active ISO 4217 currency code in upper case, such as EUR or USD");
    }

    /// <summary>Looks up the currency with the given code.</summary>
    /// <param name="code">The ISO 4217 code.</param>
    /// <param name="currency">The currency, when known.</param>
    /// <returns>Whether the code names an active currency.</returns>
    public static bool TryFromCode(string? code, out Currency currency)
    {
        if (code is not null && Known.ContainsKey(code))
        {
            currency = new Currency(code.Length == 3 ? string.Intern(code) : code);
            return true;
        }

        currency = default;
        return false;
    }

    private static FrozenDictionary<string, int> BuildTable()
    {
        var table = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var code in Codes.Split(' '))
        {
            table[code] = 2;
        }

        foreach (var code in ZeroDecimals.Split(' '))
        {
            table[code] = 0;
        }

        foreach (var code in ThreeDecimals.Split(' '))
        {
            table[code] = 3;
        }

        foreach (var code in FourDecimals.Split(' '))
        {
            table[code] = 4;
        }

        return table.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public bool Equals(Currency other) => string.Equals(_code, other._code, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Currency other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _code is null ? 0 : StringComparer.Ordinal.GetHashCode(_code);

    /// <summary>Returns the code.</summary>
    /// <returns>The ISO 4217 code.</returns>
    public override string ToString() => Code;

    /// <summary>Equality.</summary>
    /// <param name="left">The left currency.</param>
    /// <param name="right">The right currency.</param>
    /// <returns>Whether both are the same currency.</returns>
    public static bool operator ==(Currency left, Currency right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left currency.</param>
    /// <param name="right">The right currency.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Currency left, Currency right) => !left.Equals(right);
}

internal sealed class CurrencyJsonConverter : JsonConverter<Currency>
{
    public override Currency Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.String
            ? Currency.FromCode(reader.GetString()!)
            : throw new JsonException("A currency must be a JSON string holding an ISO 4217 code.");

    public override void Write(Utf8JsonWriter writer, Currency value, JsonSerializerOptions options) => writer.WriteStringValue(value.Code);
}
