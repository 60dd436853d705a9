using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Engagement.Sdk.Testing.Conformance;

// The checks' own small assertion vocabulary, so that the kit depends on no test framework or assertion library: every
// failure is a ConformanceException naming the checked expression, the expectation and what was found.

/// <summary>Entry points of the checks' assertions.</summary>
internal static class ConformanceAssertions
{
    public static ObjectAssertions Should(this object? subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    public static BooleanAssertions Should(this bool subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    public static StringAssertions Should(this string? subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    public static NumericAssertions<T> Should<T>(this T subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        where T : struct, INumber<T>
        => new(subject, expression);

    public static CollectionAssertions<T> Should<T>(this IEnumerable<T>? subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    public static DictionaryAssertions<TKey, TValue> Should<TKey, TValue>(this IReadOnlyDictionary<TKey, TValue>? subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    public static AsyncActionAssertions Should(this Func<Task> subject, [CallerArgumentExpression(nameof(subject))] string expression = "")
        => new(subject, expression);

    internal static ConformanceException Fail(string expression, string expectation, string because, string found)
    {
        var reason = string.IsNullOrEmpty(because) ? string.Empty : $" because {because}";
        var subject = string.IsNullOrWhiteSpace(expression) ? "the value" : expression;
        return new ConformanceException($"Expected {subject} {expectation}{reason}, but {found}.");
    }

    internal static string Format(object? value) => value switch
    {
        null => "<null>",
        string s => $"\"{s}\"",
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary dictionary => "{" + string.Join(", ", dictionary.Cast<DictionaryEntry>().Take(20).Select(e => $"{Format(e.Key)}: {Format(e.Value)}")) + "}",
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Take(20).Select(Format)) + (items.Cast<object?>().Skip(20).Any() ? ", …" : string.Empty) + "]",
        _ => value.ToString() ?? value.GetType().Name,
    };

    /// <summary>Structural equivalence: equal values, or the same members (recursively), collections in any order.</summary>
    internal static bool Equivalent(object? actual, object? expected, int depth = 0)
    {
        if (actual is null || expected is null)
        {
            return actual is null && expected is null;
        }

        if (Equals(actual, expected))
        {
            return true;
        }

        var type = expected.GetType();
        if (depth > 8 || expected is string || type.IsPrimitive || type.IsEnum || expected is decimal or DateTime or DateTimeOffset or TimeSpan or Guid)
        {
            return false;
        }

        if (expected is IDictionary expectedMap && actual is IDictionary actualMap)
        {
            return expectedMap.Count == actualMap.Count
                && expectedMap.Cast<DictionaryEntry>().All(e => actualMap.Contains(e.Key) && Equivalent(actualMap[e.Key], e.Value, depth + 1));
        }

        if (expected is IEnumerable expectedItems && actual is IEnumerable actualItems)
        {
            var remaining = actualItems.Cast<object?>().ToList();
            foreach (var item in expectedItems)
            {
                var index = remaining.FindIndex(candidate => Equivalent(candidate, item, depth + 1));
                if (index < 0)
                {
                    return false;
                }

                remaining.RemoveAt(index);
            }

            return remaining.Count == 0;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToList();
        if (properties.Count == 0 || !actual.GetType().IsAssignableTo(type) && !type.IsAssignableTo(actual.GetType()))
        {
            return false;
        }

        return properties.All(p => Equivalent(p.GetValue(actual), p.GetValue(expected), depth + 1));
    }
}

/// <summary>Assertions on any value.</summary>
internal sealed class ObjectAssertions(object? subject, string expression)
{
    public object? Subject => subject;

    public ObjectAssertions Be(object? expected, string because = "")
        => Equals(subject, expected) ? this : throw ConformanceAssertions.Fail(expression, $"to be {ConformanceAssertions.Format(expected)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public ObjectAssertions NotBe(object? unexpected, string because = "")
        => !Equals(subject, unexpected) ? this : throw ConformanceAssertions.Fail(expression, $"not to be {ConformanceAssertions.Format(unexpected)}", because, "it was");

    public ObjectAssertions BeNull(string because = "")
        => subject is null ? this : throw ConformanceAssertions.Fail(expression, "to be null", because, $"found {ConformanceAssertions.Format(subject)}");

    public ObjectAssertions NotBeNull(string because = "")
        => subject is not null ? this : throw ConformanceAssertions.Fail(expression, "not to be null", because, "it was null");

    public ObjectAssertions BeEquivalentTo(object? expected, string because = "")
        => ConformanceAssertions.Equivalent(subject, expected) ? this
            : throw ConformanceAssertions.Fail(expression, $"to be equivalent to {ConformanceAssertions.Format(expected)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public ObjectAssertions BeOneOf(params object?[] candidates)
        => candidates.Any(c => Equals(subject, c)) ? this
            : throw ConformanceAssertions.Fail(expression, $"to be one of {ConformanceAssertions.Format(candidates)}", string.Empty, $"found {ConformanceAssertions.Format(subject)}");

    public TypeResult<T> BeAssignableTo<T>(string because = "")
        => subject is T typed ? new TypeResult<T>(typed) : throw ConformanceAssertions.Fail(expression, $"to be a {typeof(T).Name}", because, $"found {(subject is null ? "null" : subject.GetType().Name)}");

    public TypeResult<T> BeOfType<T>(string because = "")
        => subject is T typed && subject.GetType() == typeof(T) ? new TypeResult<T>(typed)
            : throw ConformanceAssertions.Fail(expression, $"to be of type {typeof(T).Name}", because, $"found {(subject is null ? "null" : subject.GetType().Name)}");

    public ObjectAssertions Match<T>(Func<T, bool> predicate, string because = "")
        => subject is T typed && predicate(typed) ? this : throw ConformanceAssertions.Fail(expression, "to match the condition", because, $"found {ConformanceAssertions.Format(subject)}");
}

/// <summary>A value of a type an assertion established.</summary>
/// <typeparam name="T">The type.</typeparam>
internal sealed class TypeResult<T>(T value)
{
    public T Subject => value;

    public T Which => value;
}

/// <summary>Assertions on a Boolean.</summary>
internal sealed class BooleanAssertions(bool subject, string expression)
{
    public BooleanAssertions Be(bool expected, string because = "")
        => subject == expected ? this : throw ConformanceAssertions.Fail(expression, $"to be {expected}", because, $"found {subject}");

    public BooleanAssertions BeTrue(string because = "") => Be(true, because);

    public BooleanAssertions BeFalse(string because = "") => Be(false, because);
}

/// <summary>Assertions on a string.</summary>
internal sealed class StringAssertions(string? subject, string expression)
{
    public StringAssertions Be(string? expected, string because = "")
        => string.Equals(subject, expected, StringComparison.Ordinal) ? this
            : throw ConformanceAssertions.Fail(expression, $"to be {ConformanceAssertions.Format(expected)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public StringAssertions NotBe(string? unexpected, string because = "")
        => !string.Equals(subject, unexpected, StringComparison.Ordinal) ? this : throw ConformanceAssertions.Fail(expression, $"not to be {ConformanceAssertions.Format(unexpected)}", because, "it was");

    public StringAssertions BeNull(string because = "")
        => subject is null ? this : throw ConformanceAssertions.Fail(expression, "to be null", because, $"found {ConformanceAssertions.Format(subject)}");

    public StringAssertions NotBeNull(string because = "")
        => subject is not null ? this : throw ConformanceAssertions.Fail(expression, "not to be null", because, "it was null");

    public StringAssertions BeEmpty(string because = "")
        => subject is { Length: 0 } ? this : throw ConformanceAssertions.Fail(expression, "to be empty", because, $"found {ConformanceAssertions.Format(subject)}");

    public StringAssertions Contain(string part, string because = "")
        => subject is not null && subject.Contains(part, StringComparison.Ordinal) ? this
            : throw ConformanceAssertions.Fail(expression, $"to contain {ConformanceAssertions.Format(part)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public StringAssertions BeOneOf(params string?[] candidates)
        => candidates.Contains(subject, StringComparer.Ordinal) ? this
            : throw ConformanceAssertions.Fail(expression, $"to be one of {ConformanceAssertions.Format(candidates)}", string.Empty, $"found {ConformanceAssertions.Format(subject)}");
}

/// <summary>Assertions on a number.</summary>
/// <typeparam name="T">The number type.</typeparam>
internal sealed class NumericAssertions<T>(T subject, string expression)
    where T : struct, INumber<T>
{
    public NumericAssertions<T> Be(T expected, string because = "")
        => subject == expected ? this : throw ConformanceAssertions.Fail(expression, $"to be {ConformanceAssertions.Format(expected)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public NumericAssertions<T> BePositive(string because = "")
        => subject > T.Zero ? this : throw ConformanceAssertions.Fail(expression, "to be positive", because, $"found {ConformanceAssertions.Format(subject)}");

    public NumericAssertions<T> BeGreaterThan(T bound, string because = "")
        => subject > bound ? this : throw ConformanceAssertions.Fail(expression, $"to be greater than {ConformanceAssertions.Format(bound)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public NumericAssertions<T> BeGreaterThanOrEqualTo(T bound, string because = "")
        => subject >= bound ? this : throw ConformanceAssertions.Fail(expression, $"to be at least {ConformanceAssertions.Format(bound)}", because, $"found {ConformanceAssertions.Format(subject)}");

    public NumericAssertions<T> BeLessThanOrEqualTo(T bound, string because = "")
        => subject <= bound ? this : throw ConformanceAssertions.Fail(expression, $"to be at most {ConformanceAssertions.Format(bound)}", because, $"found {ConformanceAssertions.Format(subject)}");
}

/// <summary>Assertions on a sequence.</summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class CollectionAssertions<T>(IEnumerable<T>? subject, string expression)
{
    private readonly List<T>? _items = subject?.ToList();

    public CollectionAssertions<T> And => this;

    private List<T> Items => _items ?? throw ConformanceAssertions.Fail(expression, "to be a sequence", string.Empty, "it was null");

    public CollectionAssertions<T> Equal(params T[] expected) => Equal((IEnumerable<T>)expected);

    public CollectionAssertions<T> Equal(IEnumerable<T> expected, string because = "")
        => Items.SequenceEqual(expected) ? this
            : throw ConformanceAssertions.Fail(expression, $"to equal {ConformanceAssertions.Format(expected)} in order", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> BeEquivalentTo(IEnumerable<T> expected, string because = "")
        => ConformanceAssertions.Equivalent(Items, expected.ToList()) ? this
            : throw ConformanceAssertions.Fail(expression, $"to be equivalent to {ConformanceAssertions.Format(expected)} (in any order)", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> BeEmpty(string because = "")
        => Items.Count == 0 ? this : throw ConformanceAssertions.Fail(expression, "to be empty", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> NotBeEmpty(string because = "")
        => Items.Count > 0 ? this : throw ConformanceAssertions.Fail(expression, "not to be empty", because, "it was");

    public CollectionAssertions<T> HaveCount(int expected, string because = "")
        => Items.Count == expected ? this : throw ConformanceAssertions.Fail(expression, $"to have {expected} items", because, $"found {Items.Count}: {ConformanceAssertions.Format(Items)}");

    public TypeResult<T> ContainSingle(string because = "")
        => Items.Count == 1 ? new TypeResult<T>(Items[0]) : throw ConformanceAssertions.Fail(expression, "to contain a single item", because, $"found {ConformanceAssertions.Format(Items)}");

    public TypeResult<T> ContainSingle(Func<T, bool> predicate, string because = "")
    {
        var matches = Items.Where(predicate).ToList();
        return matches.Count == 1 ? new TypeResult<T>(matches[0]) : throw ConformanceAssertions.Fail(expression, "to contain a single item matching the condition", because, $"found {ConformanceAssertions.Format(Items)}");
    }

    public CollectionAssertions<T> Contain(T item, string because = "")
        => Items.Contains(item) ? this : throw ConformanceAssertions.Fail(expression, $"to contain {ConformanceAssertions.Format(item)}", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> Contain(Func<T, bool> predicate, string because = "")
        => Items.Any(predicate) ? this : throw ConformanceAssertions.Fail(expression, "to contain an item matching the condition", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> NotContain(T item, string because = "")
        => !Items.Contains(item) ? this : throw ConformanceAssertions.Fail(expression, $"not to contain {ConformanceAssertions.Format(item)}", because, $"found {ConformanceAssertions.Format(Items)}");

    public CollectionAssertions<T> OnlyContain(Func<T, bool> predicate, string because = "")
    {
        var offending = Items.Where(i => !predicate(i)).ToList();
        return offending.Count == 0 ? this : throw ConformanceAssertions.Fail(expression, "to contain only items matching the condition", because, $"{offending.Count} did not: {ConformanceAssertions.Format(offending)}");
    }

    public CollectionAssertions<T> OnlyHaveUniqueItems(string because = "")
    {
        var repeated = Items.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return repeated.Count == 0 ? this : throw ConformanceAssertions.Fail(expression, "to have unique items", because, $"found repeated {ConformanceAssertions.Format(repeated)}");
    }

    public CollectionAssertions<T> BeInAscendingOrder(string because = "")
    {
        for (var i = 1; i < Items.Count; i++)
        {
            if (Comparer<T>.Default.Compare(Items[i - 1], Items[i]) > 0)
            {
                throw ConformanceAssertions.Fail(expression, "to be in ascending order", because, $"item {i} ({ConformanceAssertions.Format(Items[i])}) comes after {ConformanceAssertions.Format(Items[i - 1])}");
            }
        }

        return this;
    }
}

/// <summary>Assertions on a dictionary.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed class DictionaryAssertions<TKey, TValue>(IReadOnlyDictionary<TKey, TValue>? subject, string expression)
{
    public DictionaryAssertions<TKey, TValue> And => this;

    private IReadOnlyDictionary<TKey, TValue> Map => subject ?? throw ConformanceAssertions.Fail(expression, "to be a dictionary", string.Empty, "it was null");

    public DictionaryAssertions<TKey, TValue> ContainKey(TKey key, string because = "")
        => Map.ContainsKey(key) ? this : throw ConformanceAssertions.Fail(expression, $"to contain the key {ConformanceAssertions.Format(key)}", because, $"found {ConformanceAssertions.Format(Map.Keys)}");

    public DictionaryAssertions<TKey, TValue> NotContainKey(TKey key, string because = "")
        => !Map.ContainsKey(key) ? this : throw ConformanceAssertions.Fail(expression, $"not to contain the key {ConformanceAssertions.Format(key)}", because, "it did");

    public DictionaryAssertions<TKey, TValue> BeEmpty(string because = "")
        => Map.Count == 0 ? this : throw ConformanceAssertions.Fail(expression, "to be empty", because, $"found {ConformanceAssertions.Format(Map.Keys)}");

    public DictionaryAssertions<TKey, TValue> BeEquivalentTo(IReadOnlyDictionary<TKey, TValue> expected, string because = "")
    {
        var same = Map.Count == expected.Count && expected.All(e => Map.TryGetValue(e.Key, out var value) && ConformanceAssertions.Equivalent(value, e.Value));
        return same ? this : throw ConformanceAssertions.Fail(expression, $"to be equivalent to {ConformanceAssertions.Format(expected)}", because, $"found {ConformanceAssertions.Format(Map)}");
    }
}

/// <summary>Assertions on an asynchronous action.</summary>
internal sealed class AsyncActionAssertions(Func<Task> subject, string expression)
{
    public async Task<TypeResult<TException>> ThrowAsync<TException>(string because = "")
        where TException : Exception
    {
        try
        {
            await subject().ConfigureAwait(false);
        }
        catch (TException expected)
        {
            return new TypeResult<TException>(expected);
        }
        catch (Exception other)
        {
            throw new ConformanceException($"Expected {expression} to throw {typeof(TException).Name}{(because.Length == 0 ? string.Empty : " because " + because)}, but it threw {other.GetType().Name}: {other.Message}", other);
        }

        throw ConformanceAssertions.Fail(expression, $"to throw {typeof(TException).Name}", because, "it completed without an exception");
    }
}
