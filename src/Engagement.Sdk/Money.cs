using System.Globalization;
using System.Text.Json.Serialization;

namespace Engagement.Sdk;

/// <summary>
/// An amount of money in one ISO 4217 currency. Arithmetic between different currencies throws
/// <see cref="CurrencyMismatchException"/>: the SDK never converts silently.
/// </summary>
public readonly struct Money : IEquatable<Money>, IComparable<Money>
{
    /// <summary>Creates an amount in a currency.</summary>
    /// <param name="amount">The amount, in major units (12.50 for twelve euros fifty).</param>
    /// <param name="currency">The currency; must not be <c>default</c>.</param>
    /// <exception cref="EngagementValidationException">The currency is <c>default</c>.</exception>
    [JsonConstructor]
    public Money(decimal amount, Currency currency)
    {
        if (currency.IsEmpty)
        {
            throw new EngagementValidationException("currency", null, "money needs an ISO 4217 currency");
        }

        // -0 is 0: an amount never carries the sign of nothing into sums or JSON.
        Amount = amount == 0m && decimal.IsNegative(amount) ? decimal.Zero : amount;
        Currency = currency;
    }

    /// <summary>The amount in major units.</summary>
    public decimal Amount { get; }

    /// <summary>The currency.</summary>
    public Currency Currency { get; }

    /// <summary>Zero in <paramref name="currency"/>.</summary>
    /// <param name="currency">The currency.</param>
    /// <returns>A zero amount.</returns>
    public static Money Zero(Currency currency) => new(0m, currency);

    /// <summary>Creates an amount from a code, such as <c>Money.Of(9.99m, "EUR")</c>.</summary>
    /// <param name="amount">The amount.</param>
    /// <param name="currencyCode">The ISO 4217 code.</param>
    /// <returns>The money.</returns>
    public static Money Of(decimal amount, string currencyCode) => new(amount, Currency.FromCode(currencyCode));

    /// <summary>Whether the amount is below zero.</summary>
    [JsonIgnore]
    public bool IsNegative => Amount < 0m;

    /// <summary>Adds two amounts of the same currency.</summary>
    /// <param name="other">The other amount.</param>
    /// <returns>The sum.</returns>
    /// <exception cref="CurrencyMismatchException">The currencies differ.</exception>
    public Money Add(Money other) => new(Amount + Same(other).Amount, Currency);

    /// <summary>Subtracts an amount of the same currency.</summary>
    /// <param name="other">The other amount.</param>
    /// <returns>The difference.</returns>
    /// <exception cref="CurrencyMismatchException">The currencies differ.</exception>
    public Money Subtract(Money other) => new(Amount - Same(other).Amount, Currency);

    /// <summary>Multiplies by a factor (a margin, a quantity).</summary>
    /// <param name="factor">The factor.</param>
    /// <returns>The product.</returns>
    public Money Multiply(decimal factor) => new(Amount * factor, Currency);

    /// <summary>Rounds to the currency's minor units, half away from zero.</summary>
    /// <returns>The rounded amount.</returns>
    public Money Round() => new(Math.Round(Amount, Currency.MinorUnits, MidpointRounding.AwayFromZero), Currency);

    /// <summary>
    /// The largest amount the SDK accepts or keeps in one place: a price, a line's or an order's total, a customer's revenue
    /// or refunds (10^18 major units, beyond any real order in any currency). Below it no sum the SDK makes can overflow a
    /// <see cref="decimal"/>: an event that would take an amount past it is rejected with
    /// <see cref="EngagementValidationException"/>, never an <see cref="OverflowException"/>.
    /// </summary>
    public const decimal MaxAmount = 1_000_000_000_000_000_000m;

    /// <summary>Throws <see cref="EngagementValidationException"/> for <paramref name="field"/> when the amount is above <see cref="MaxAmount"/>.</summary>
    internal Money RequireWithinLimit(string field, string what)
        => Amount > MaxAmount
            ? throw new EngagementValidationException(field, Amount.ToString(CultureInfo.InvariantCulture) + " " + Currency.Code, $"{what} must be at most {MaxAmount.ToString("N0", CultureInfo.InvariantCulture)} {Currency.Code} (Money.MaxAmount)")
            : this;

    /// <summary>Whether the amount has more decimals than the currency is quoted in (0.001 EUR, 1.5 JPY); trailing zeros do not count.</summary>
    internal bool HasExcessPrecision => decimal.Round(Amount, Currency.MinorUnits) != Amount;

    /// <summary>
    /// Throws <see cref="EngagementValidationException"/> for <paramref name="field"/> when the amount has more decimals than the
    /// currency's minor units: amounts the SDK receives are never rounded silently.
    /// </summary>
    internal Money RequireMinorUnits(string field)
        => HasExcessPrecision
            ? throw new EngagementValidationException(field, Amount.ToString(CultureInfo.InvariantCulture) + " " + Currency.Code, $"must have at most {Currency.MinorUnits} decimals, the minor units of {Currency.Code} (amounts are not rounded)")
            : this;

    /// <summary>Sum.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>The sum.</returns>
    public static Money operator +(Money left, Money right) => left.Add(right);

    /// <summary>Difference.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>The difference.</returns>
    public static Money operator -(Money left, Money right) => left.Subtract(right);

    /// <summary>Product with a factor.</summary>
    /// <param name="left">The amount.</param>
    /// <param name="factor">The factor.</param>
    /// <returns>The product.</returns>
    public static Money operator *(Money left, decimal factor) => left.Multiply(factor);

    private Money Same(Money other)
    {
        if (other.Currency != Currency)
        {
            throw new CurrencyMismatchException(Currency, other.Currency);
        }

        return other;
    }

    /// <inheritdoc />
    public bool Equals(Money other) => Amount == other.Amount && Currency == other.Currency;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Money other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Amount, Currency);

    /// <summary>Compares two amounts of the same currency.</summary>
    /// <param name="other">The other amount.</param>
    /// <returns>The comparison.</returns>
    /// <exception cref="CurrencyMismatchException">The currencies differ.</exception>
    public int CompareTo(Money other) => Amount.CompareTo(Same(other).Amount);

    /// <summary>Formats as <c>12.50 EUR</c>, with the currency's minor units, in the invariant culture.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
        => Amount.ToString("F" + Currency.MinorUnits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " " + Currency.Code;

    /// <summary>Equality.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether both amount and currency are equal.</returns>
    public static bool operator ==(Money left, Money right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether amount or currency differ.</returns>
    public static bool operator !=(Money left, Money right) => !left.Equals(right);

    /// <summary>Ordering within one currency.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether left is less.</returns>
    public static bool operator <(Money left, Money right) => left.CompareTo(right) < 0;

    /// <summary>Ordering within one currency.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether left is greater.</returns>
    public static bool operator >(Money left, Money right) => left.CompareTo(right) > 0;

    /// <summary>Ordering within one currency.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether left is less or equal.</returns>
    public static bool operator <=(Money left, Money right) => left.CompareTo(right) <= 0;

    /// <summary>Ordering within one currency.</summary>
    /// <param name="left">The left amount.</param>
    /// <param name="right">The right amount.</param>
    /// <returns>Whether left is greater or equal.</returns>
    public static bool operator >=(Money left, Money right) => left.CompareTo(right) >= 0;
}

/// <summary>Thrown when amounts of two different currencies are combined without an explicit conversion.</summary>
public sealed class CurrencyMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception for the two currencies involved.</summary>
    /// <param name="expected">The currency of the left operand.</param>
    /// <param name="actual">The currency of the right operand.</param>
    public CurrencyMismatchException(Currency expected, Currency actual)
        : base($"Cannot combine {expected.Code} with {actual.Code}: convert explicitly first.")
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The currency of the left operand.</summary>
    public Currency Expected { get; }

    /// <summary>The currency of the right operand.</summary>
    public Currency Actual { get; }
}
