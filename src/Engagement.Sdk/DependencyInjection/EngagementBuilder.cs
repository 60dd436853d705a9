using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Configures Engagement.Sdk after <see cref="EngagementServiceCollectionExtensions.AddEngagement"/>: stores, channels,
/// journeys and actions. Each method returns the builder for chaining.
/// </summary>
public sealed class EngagementBuilder
{
    internal EngagementBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>The service collection being configured; adapters register their services here.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Adds a channel sender (once: adding the same type again adds nothing). Register one sender per channel: a second sender
    /// for a channel fails the host's start, naming both.
    /// </summary>
    /// <typeparam name="TSender">The sender type, resolved as a singleton.</typeparam>
    /// <returns>The builder.</returns>
    public EngagementBuilder AddChannel<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] TSender>()
        where TSender : class, IChannelSender
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelSender, TSender>());
        return this;
    }

    /// <summary>
    /// Adds a channel sender instance (once: adding the same instance again adds nothing). Register one sender per channel: a
    /// second sender for a channel fails the host's start, naming both.
    /// </summary>
    /// <param name="sender">The sender.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder AddChannel(IChannelSender sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (!Services.Any(d => d.ServiceType == typeof(IChannelSender) && !d.IsKeyedService && ReferenceEquals(d.ImplementationInstance, sender)))
        {
            Services.AddSingleton(sender);
        }

        return this;
    }

    /// <summary>Adds a journey that every event re-evaluates (the <see cref="JourneyDefinition.Lifecycle"/> journey is there by default).</summary>
    /// <param name="journey">The journey.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder AddJourney(JourneyDefinition journey)
    {
        ArgumentNullException.ThrowIfNull(journey);
        Services.Configure<EngagementOptions>(o => o.Journeys.Add(journey));
        return this;
    }

    /// <summary>Sets the action catalogue that decisions choose from.</summary>
    /// <param name="catalog">The catalogue.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder UseActions(ActionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        Services.Replace(ServiceDescriptor.Singleton(catalog));
        return this;
    }
}
