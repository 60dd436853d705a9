using System.Runtime.CompilerServices;
using Engagement.Sdk;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;

namespace CustomStore;

/// <summary>
/// An event store in one JSON-lines file: each event is a line of <see cref="EventJson"/>, appended and flushed to disk before
/// <see cref="AppendAsync"/> returns; the file is read once when the store opens, and reads are served from memory. Erasure and
/// retention rewrite the file through a temporary file that replaces it whole, so a crash leaves the old file or the new one.
/// A last line cut short by a crash during an append is dropped when the store opens (that append had not returned).
/// Written to show what a store adapter must do; it passes the conformance kit's event-store tests.
/// </summary>
public sealed class JsonLinesEventStore : IEventStore, ISubjectErasure, IEventRetention
{
    private readonly string _path;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (EngagementEvent Event, byte[] Json)> _byId = new(StringComparer.Ordinal);

    /// <summary>Opens the store in <paramref name="path"/>, creating the file if it does not exist.</summary>
    /// <param name="path">The file.</param>
    public JsonLinesEventStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        if (!File.Exists(_path))
        {
            File.WriteAllBytes(_path, []);
            return;
        }

        var bytes = File.ReadAllBytes(_path);
        var complete = bytes.AsSpan(0, bytes.AsSpan().LastIndexOf((byte)'\n') + 1);
        foreach (var line in complete.ToArray().AsSpan().Split((byte)'\n'))
        {
            var json = complete[line];
            if (!json.IsEmpty)
            {
                var e = EventJson.Deserialize(json);
                _byId[e.EventId] = (e, json.ToArray());
            }
        }

        if (complete.Length != bytes.Length)
        {
            using var file = new FileStream(_path, FileMode.Open, FileAccess.Write);
            file.SetLength(complete.Length);
        }
    }

    /// <inheritdoc />
    public async ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        var json = EventJson.Serialize(engagementEvent);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_byId.TryGetValue(engagementEvent.EventId, out var stored))
            {
                return stored.Json.AsSpan().SequenceEqual(json) ? AppendOutcome.Duplicate : throw new EventConflictException(engagementEvent.EventId);
            }

            var file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await file.WriteAsync(json, cancellationToken).ConfigureAwait(false);
                await file.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            _byId[engagementEvent.EventId] = (engagementEvent, json);
            return AppendOutcome.Appended;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in await SnapshotAsync(e => e.CustomerId == customerId && (from is null || e.Timestamp >= from) && (to is null || e.Timestamp < to), cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in await SnapshotAsync(e => e.Timestamp >= from && e.Timestamp < to, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => RemoveAsync(e => e.CustomerId == customerId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> PurgeBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
        => RemoveAsync(e => e.Timestamp < cutoff, cancellationToken);

    private async Task<List<EngagementEvent>> SnapshotAsync(Func<EngagementEvent, bool> match, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Ordered by instant (not by local time), then by id, as every store orders them.
            return [.. _byId.Values.Select(v => v.Event).Where(match).OrderBy(e => e.Timestamp.UtcTicks).ThenBy(e => e.EventId, StringComparer.Ordinal)];
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<int> RemoveAsync(Func<EngagementEvent, bool> match, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var removed = _byId.Values.Where(v => match(v.Event)).Select(v => v.Event.EventId).ToList();
            if (removed.Count == 0)
            {
                return 0;
            }

            var kept = _byId.Values.Where(v => !match(v.Event)).ToList();
            var temporary = _path + ".tmp";
            var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                foreach (var (_, json) in kept)
                {
                    await file.WriteAsync(json, cancellationToken).ConfigureAwait(false);
                    await file.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
            foreach (var id in removed)
            {
                _byId.Remove(id);
            }

            return removed.Count;
        }
        finally
        {
            _gate.Release();
        }
    }
}
