using System.Collections.Concurrent;
using Engagement.Sdk.Consent;

namespace Engagement.Sdk.Storage;

/// <summary>The identifier-level suppression list (bounces, complaints, unmatched opt-out keywords, erasures). Append-only.</summary>
public interface ISuppressionStore
{
    /// <summary>Adds a suppression (the same hash, reason and time again is a no-op).</summary>
    /// <param name="suppression">The suppression.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default);

    /// <summary>The suppressions of one identifier hash, oldest first.</summary>
    /// <param name="identifierHash">The hash (<see cref="IdentifierHashing.Hash"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The suppressions.</returns>
    ValueTask<IReadOnlyList<Suppression>> FindAsync(string identifierHash, CancellationToken cancellationToken = default);
}

/// <summary>
/// A suppression store that counts its additions, so that a caller which found nothing for a hash can trust that answer
/// for as long as the count has not moved (the engine's check of each event's customer against erasure tombstones).
/// </summary>
internal interface ICountedSuppressions
{
    /// <summary>How many additions have been made; it moves only after an addition can be found.</summary>
    long Additions { get; }
}

/// <summary>An in-memory <see cref="ISuppressionStore"/>: thread-safe.</summary>
public sealed class InMemorySuppressionStore : ISuppressionStore, ICountedSuppressions
{
    private readonly ConcurrentDictionary<string, List<Suppression>> _byHash = new(StringComparer.Ordinal);
    private long _additions;

    long ICountedSuppressions.Additions => Volatile.Read(ref _additions);

    /// <inheritdoc />
    public ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        cancellationToken.ThrowIfCancellationRequested();
        var list = _byHash.GetOrAdd(suppression.IdentifierHash, static _ => []);
        lock (list)
        {
            if (!list.Contains(suppression))
            {
                list.Add(suppression);
                list.Sort(static (a, b) => a.At.CompareTo(b.At));
            }
        }

        // After the suppression is in place: a reader that saw the old count looked before it and must look again.
        Interlocked.Increment(ref _additions);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Suppression>> FindAsync(string identifierHash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_byHash.TryGetValue(identifierHash, out var list))
        {
            return ValueTask.FromResult<IReadOnlyList<Suppression>>([]);
        }

        lock (list)
        {
            return ValueTask.FromResult<IReadOnlyList<Suppression>>([.. list]);
        }
    }
}
