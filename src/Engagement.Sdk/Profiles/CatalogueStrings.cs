using System.Collections.Concurrent;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Shares one string instance per product id or category across every profile that
/// holds it (each event arrives with its own copy). Bounded: once it holds <see cref="Capacity"/> distinct strings, new
/// ones are kept as they are, so an unbounded stream of distinct ids cannot grow it without limit.
/// </summary>
internal static class CatalogueStrings
{
    /// <summary>The most distinct strings shared.</summary>
    public const int Capacity = 200_000;

    private static readonly ConcurrentDictionary<string, string> Pool = new(StringComparer.Ordinal);

    // Strings added so far (at least the pool's size): asking the concurrent dictionary for its count would take all of its
    // locks on every miss, and once the pool is full every new id is a miss.
    private static int _added;

    /// <summary>The shared instance equal to <paramref name="value"/>.</summary>
    /// <param name="value">A catalogue string.</param>
    /// <returns>The shared instance, or <paramref name="value"/> itself when the pool is full.</returns>
    public static string Share(string value)
    {
        if (Pool.TryGetValue(value, out var shared))
        {
            return shared;
        }

        if (Volatile.Read(ref _added) >= Capacity)
        {
            return value;
        }

        shared = Pool.GetOrAdd(value, value);
        if (ReferenceEquals(shared, value))
        {
            Interlocked.Increment(ref _added);
        }

        return shared;
    }
}
