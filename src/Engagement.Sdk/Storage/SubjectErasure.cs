namespace Engagement.Sdk.Storage;

/// <summary>
/// Implemented by stores that hold personal data: removes everything about one subject. Erasure is the one operation that
/// deletes from the append-only ledgers; it is run by <see cref="Profiles.CustomerErasure"/>, never by the engine.
/// </summary>
public interface ISubjectErasure
{
    /// <summary>Removes everything this store holds about <paramref name="customerId"/>.</summary>
    /// <param name="customerId">The subject.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many items were removed.</returns>
    ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default);
}

/// <summary>
/// Implemented by stores whose storage can keep copies of erased data outside their live rows (a write-ahead log, freed
/// pages): <see cref="Profiles.CustomerErasure"/> calls it once every store has erased the subject, to remove those copies.
/// </summary>
public interface IErasureCompaction
{
    /// <summary>Removes every copy of deleted data the storage still keeps (for SQLite: a checkpoint that truncates the write-ahead log).</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    ValueTask CompactAfterErasureAsync(CancellationToken cancellationToken = default);
}
