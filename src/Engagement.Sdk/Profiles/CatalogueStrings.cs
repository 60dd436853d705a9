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

    /// <summary>The shared instance equal to <paramref name="value"/>.</summary>
    /// <param name="value">A catalogue string.</param>
    /// <returns>The shared instance, or <paramref name="value"/> itself when the pool is full.</returns>
    public static string Share(string value)
    {
        if (Pool.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return Pool.Count < Capacity ? Pool.GetOrAdd(value, value) : value;
    }
}
