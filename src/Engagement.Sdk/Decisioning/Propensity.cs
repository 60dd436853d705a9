using System.Collections.Concurrent;

namespace Engagement.Sdk.Decisioning;

/// <summary>Estimates how likely a customer is to respond to an action on a channel, and learns from outcomes.</summary>
public interface IPropensityModel
{
    /// <summary>The estimated response probability.</summary>
    /// <param name="action">The action.</param>
    /// <param name="channel">The channel.</param>
    /// <returns>A probability in [0, 1].</returns>
    double Estimate(ActionDefinition action, Channels.Channel channel);

    /// <summary>Records that the action was sent on the channel.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="channel">The channel.</param>
    void RecordSent(string actionId, Channels.Channel channel);

    /// <summary>Records that the customer responded (clicked).</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="channel">The channel.</param>
    void RecordResponse(string actionId, Channels.Channel channel);
}

/// <summary>
/// A Beta-Bernoulli propensity per action × channel: the posterior mean (responses + a) / (sends + a + b), where the prior
/// a, b puts the action's <see cref="ActionDefinition.BasePropensity"/> at a weight of <see cref="PriorWeight"/> sends.
/// Thread-safe; counters are lock-free.
/// </summary>
public sealed class BetaBernoulliPropensityModel : IPropensityModel
{
    private readonly ConcurrentDictionary<(string, Channels.Channel), Counts> _counts = new();

    /// <summary>How many sends the prior is worth.</summary>
    public double PriorWeight { get; init; } = 20;

    /// <inheritdoc />
    public double Estimate(ActionDefinition action, Channels.Channel channel)
    {
        ArgumentNullException.ThrowIfNull(action);
        var prior = action.BasePropensity;
        if (!_counts.TryGetValue((action.Id, channel), out var c))
        {
            return prior;
        }

        var sends = Interlocked.Read(ref c.Sends);
        var responses = Math.Min(Interlocked.Read(ref c.Responses), sends);
        return (responses + (prior * PriorWeight)) / (sends + PriorWeight);
    }

    /// <inheritdoc />
    public void RecordSent(string actionId, Channels.Channel channel) => Interlocked.Increment(ref _counts.GetOrAdd((actionId, channel), static _ => new Counts()).Sends);

    /// <inheritdoc />
    public void RecordResponse(string actionId, Channels.Channel channel) => Interlocked.Increment(ref _counts.GetOrAdd((actionId, channel), static _ => new Counts()).Responses);

    private sealed class Counts
    {
        public long Sends;
        public long Responses;
    }
}

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
