using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>An in-memory suppression store that counts its look-ups by hash, its additions and the erasures among them.</summary>
internal class CountingSuppressionStore : ISuppressionStore
{
    private readonly InMemorySuppressionStore _inner = new();

    public int Finds { get; private set; }

    public long Erasures { get; private set; }

    public long Additions { get; private set; }

    public async ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default)
    {
        await _inner.AddAsync(suppression, cancellationToken);
        Erasures += suppression.Reason == SuppressionReason.Erasure ? 1 : 0;
        Additions++;
    }

    public ValueTask<IReadOnlyList<Suppression>> FindAsync(string identifierHash, CancellationToken cancellationToken = default)
    {
        Finds++;
        return _inner.FindAsync(identifierHash, cancellationToken);
    }
}

/// <summary>A <see cref="CountingSuppressionStore"/> that also offers its counts as the in-memory store does.</summary>
internal sealed class CountedSuppressionStore : CountingSuppressionStore, ICountedSuppressions;
