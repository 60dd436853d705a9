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

    /// <summary>
    /// Adds a journey that every event re-evaluates (the <see cref="JourneyDefinition.Lifecycle"/> journey is there by
    /// default). A journey with the id and version of one already added replaces it (so a definition of <c>lifecycle</c>
    /// version 1 replaces the default); another version of an id is added beside the others, and customers in flight keep
    /// their version unless the newest migrates them.
    /// </summary>
    /// <param name="journey">The journey.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder AddJourney(JourneyDefinition journey)
    {
        ArgumentNullException.ThrowIfNull(journey);
        Services.Configure<EngagementOptions>(o =>
        {
            for (var i = o.Journeys.Count - 1; i >= 0; i--)
            {
                if (o.Journeys[i] is { } registered && registered.Id == journey.Id && registered.Version == journey.Version)
                {
                    o.Journeys.RemoveAt(i);
                }
            }

            o.Journeys.Add(journey);
        });
        return this;
    }

    /// <summary>
    /// Adds a named segment (<see cref="EngagementOptions.Segments"/>): kept as events arrive and on
    /// <see cref="IEngagementEngine.SweepSegmentsAsync"/>, validated when the host starts. A segment with the name of one already
    /// added replaces it.
    /// </summary>
    /// <param name="segment">The segment.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder AddSegment(Engagement.Sdk.Segments.SegmentDefinition segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        Services.Configure<EngagementOptions>(o =>
        {
            for (var i = o.Segments.Count - 1; i >= 0; i--)
            {
                if (o.Segments[i] is { } registered && registered.Name == segment.Name)
                {
                    o.Segments.RemoveAt(i);
                }
            }

            o.Segments.Add(segment);
        });
        return this;
    }

    /// <summary>Configures how decisions explore, learn, log and experiment (<see cref="DecisioningOptions"/>, validated when the host starts).</summary>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public EngagementBuilder ConfigureDecisions(Action<DecisioningOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
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
