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

/// <summary>Looks suppressions up by identifier.</summary>
public static class SuppressionStoreExtensions
{
    /// <summary>
    /// The suppressions of an identifier in any spelling: those under its hash (<see cref="IdentifierHashing.Hash"/>) and, for
    /// an identifier compared without regard to case, those recorded under the hash of its spelling before identifiers were
    /// compared so (<see cref="IdentifierHashing.SpellingHash"/>), oldest first.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="identifier">The identifier.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The suppressions.</returns>
    public static ValueTask<IReadOnlyList<Suppression>> FindAsync(this ISuppressionStore store, Profiles.Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(identifier);
        if (store is ICountedSuppressions { Additions: 0 })
        {
            // A store that has never held a suppression has none for any hash: nothing is hashed or looked up.
            cancellationToken.ThrowIfCancellationRequested();
            return new ValueTask<IReadOnlyList<Suppression>>(Array.Empty<Suppression>());
        }

        var byKey = store.FindAsync(IdentifierHashing.Hash(identifier), cancellationToken);
        return IdentifierHashing.SpellingHash(identifier) is not { } spelling ? byKey : BothAsync(store, byKey, spelling, cancellationToken);

        static async ValueTask<IReadOnlyList<Suppression>> BothAsync(ISuppressionStore store, ValueTask<IReadOnlyList<Suppression>> byKey, string spelling, CancellationToken cancellationToken)
        {
            var first = await byKey.ConfigureAwait(false);
            var second = await store.FindAsync(spelling, cancellationToken).ConfigureAwait(false);
            if (second.Count == 0)
            {
                return first;
            }

            var all = new List<Suppression>(first.Count + second.Count);
            all.AddRange(first);
            all.AddRange(second);
            all.Sort(static (a, b) => a.At.CompareTo(b.At));
            return all;
        }
    }
}

/// <summary>
/// A suppression store that counts its erasures (additions with <see cref="SuppressionReason.Erasure"/>), so that a caller
/// which found no erasure for a hash can trust that answer for as long as the count has not moved (the engine's check of
/// each event's customer against erasure tombstones), and need not look at all while the count is zero.
/// </summary>
internal interface ICountedSuppressions
{
    /// <summary>How many erasure suppressions have been added; it moves only after the addition can be found.</summary>
    long Erasures { get; }

    /// <summary>
    /// How many suppressions of any reason have been added (an addition undone with its unit of work still counts); it moves
    /// only after the addition can be found. While it is zero the store holds none, and a look-up need not be made.
    /// </summary>
    long Additions { get; }
}

/// <summary>An in-memory <see cref="ISuppressionStore"/>: thread-safe.</summary>
public sealed class InMemorySuppressionStore : ISuppressionStore, ICountedSuppressions, IUndoable
{
    private readonly ConcurrentDictionary<string, List<Suppression>> _byHash = new(StringComparer.Ordinal);
    private long _erasures;
    private long _additions;

    long ICountedSuppressions.Erasures => Volatile.Read(ref _erasures);

    long ICountedSuppressions.Additions => Volatile.Read(ref _additions);

    /// <inheritdoc />
    public ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        cancellationToken.ThrowIfCancellationRequested();
        var list = _byHash.GetOrAdd(suppression.IdentifierHash, static _ => []);
        lock (list)
        {
            if (list.Contains(suppression))
            {
                return ValueTask.CompletedTask;
            }

            list.Add(suppression);
            list.Sort(static (a, b) => a.At.CompareTo(b.At));
        }

        InMemoryTransactions.Record(this, list, null, suppression);

        // After the suppression is in place: a reader that saw the old count looked before it and must look again.
        Interlocked.Increment(ref _additions);
        if (suppression.Reason == SuppressionReason.Erasure)
        {
            Interlocked.Increment(ref _erasures);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        // The erasure count is left as it is: it only ever makes a reader look again.
        var list = (List<Suppression>)key;
        lock (list)
        {
            var at = list.FindLastIndex(s => ReferenceEquals(s, written));
            if (at >= 0)
            {
                list.RemoveAt(at);
            }
        }
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
