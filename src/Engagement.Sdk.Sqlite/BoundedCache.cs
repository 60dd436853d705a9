using System.Collections.Concurrent;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// A thread-safe cache of rows the stores read or wrote, bounded by starting over when full (every entry can be read again
/// from the database). Its size is kept as a count of the entries added since it last started over, an upper bound of the
/// entries it holds: asking a concurrent dictionary for its count takes every one of its locks, which on a path run for
/// every tracked event cost more than the cache saved.
/// </summary>
/// <typeparam name="TKey">The key.</typeparam>
/// <typeparam name="TValue">The cached value.</typeparam>
/// <param name="limit">The most entries it holds.</param>
/// <param name="comparer">Compares keys; the default comparer when null.</param>
internal sealed class BoundedCache<TKey, TValue>(int limit, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new(comparer);
    private int _added;

    /// <summary>How many entries it holds now (takes every lock of the dictionary: for tests and diagnostics).</summary>
    public int Count => _entries.Count;

    /// <summary>Finds the entry for <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The entry, when found.</param>
    /// <returns>Whether an entry was found.</returns>
    public bool TryGetValue(TKey key, out TValue value) => _entries.TryGetValue(key, out value!);

    /// <summary>
    /// Finds the entry for a key given in another form (a string key as a span of characters), without making the key: the
    /// comparer must compare that form (<see cref="StringComparer.Ordinal"/> compares spans of characters).
    /// </summary>
    /// <typeparam name="TAlternate">The key's other form.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The entry, when found.</param>
    /// <returns>Whether an entry was found.</returns>
    public bool TryGetValue<TAlternate>(TAlternate key, out TValue value)
        where TAlternate : notnull, allows ref struct
        => _entries.GetAlternateLookup<TAlternate>().TryGetValue(key, out value!);

    /// <summary>Sets the entry for <paramref name="key"/>; a new key that would pass the limit empties the cache first.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The entry.</param>
    public void Set(TKey key, TValue value)
    {
        if (!_entries.ContainsKey(key) && Interlocked.Increment(ref _added) > limit)
        {
            _entries.Clear();
            Volatile.Write(ref _added, 1);
        }

        _entries[key] = value;
    }

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        _entries.Clear();
        Volatile.Write(ref _added, 0);
    }

    /// <summary>Forgets the entry for <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    public void Remove(TKey key) => _entries.TryRemove(key, out _);
}
