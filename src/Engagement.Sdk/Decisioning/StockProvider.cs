namespace Engagement.Sdk.Decisioning;

/// <summary>Tells whether a product can be sold now. The host implements it over its catalogue and stock.</summary>
public interface IStockProvider
{
    /// <summary>Whether <paramref name="productId"/> is in stock.</summary>
    /// <param name="productId">The product.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns><see langword="true"/> when it can be sold.</returns>
    ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default);
}

/// <summary>A stock provider that knows no stock limits: every product is available. The default.</summary>
public sealed class UnlimitedStockProvider : IStockProvider
{
    /// <inheritdoc />
    public ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
}
