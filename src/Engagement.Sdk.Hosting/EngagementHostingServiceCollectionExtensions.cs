using Engagement.Sdk.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Engagement.Sdk's periodic work and health checks in a .NET host.</summary>
public static class EngagementHostingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="EngagementBackgroundService"/>, which runs outbox delivery, the release of held messages and every
    /// <see cref="IEngagementBackgroundWork"/> added with <see cref="AddEngagementBackgroundWork{TWork}"/>, on the
    /// <see cref="TimeProvider"/> in the container. Call it after <c>AddEngagement()</c>. Options are validated when the host
    /// starts; calling it again adds nothing twice.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures <see cref="EngagementBackgroundOptions"/>.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddEngagementBackgroundServices(this IServiceCollection services, Action<EngagementBackgroundOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EngagementBackgroundOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngagementBackgroundOptions>, EngagementBackgroundOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<EngagementBackgroundStatus>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IEngagementBackgroundWork, OutboxDeliveryWork>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IEngagementBackgroundWork, HeldMessageReleaseWork>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IEngagementBackgroundWork, JourneySweepWork>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IEngagementBackgroundWork, SegmentSweepWork>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EngagementBackgroundService>());
        return services;
    }

    /// <summary>
    /// Adds a periodic work (a journey sweep, a report, a clean-up) that the <see cref="EngagementBackgroundService"/> runs
    /// beside its own. Adding the same type again adds nothing.
    /// </summary>
    /// <typeparam name="TWork">The work, resolved as a singleton.</typeparam>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddEngagementBackgroundWork<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] TWork>(this IServiceCollection services)
        where TWork : class, IEngagementBackgroundWork
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IEngagementBackgroundWork, TWork>());
        return services;
    }

    /// <summary>
    /// Adds the health checks <c>engagement-store</c> (the stores answer; unhealthy when not) and <c>engagement-background</c>
    /// (the periodic work keeps up; degraded when a work falls behind by more than <see cref="EngagementBackgroundOptions.MaxLag"/>),
    /// for ASP.NET Core's <c>MapHealthChecks</c> or any <see cref="HealthCheckService"/>.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="tags">Tags for both checks (for example <c>ready</c>).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddEngagementHealthChecks(this IHealthChecksBuilder builder, params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<EngagementBackgroundStatus>();
        builder.Services.AddOptions<EngagementBackgroundOptions>();
        builder.Services.Configure<HealthCheckServiceOptions>(o =>
        {
            if (!o.Registrations.Any(r => r.Name == "engagement-store"))
            {
                o.Registrations.Add(new HealthCheckRegistration("engagement-store", static sp => ActivatorUtilities.CreateInstance<EngagementStoreHealthCheck>(sp), HealthStatus.Unhealthy, tags));
            }

            if (!o.Registrations.Any(r => r.Name == "engagement-background"))
            {
                o.Registrations.Add(new HealthCheckRegistration("engagement-background", static sp => ActivatorUtilities.CreateInstance<EngagementBackgroundHealthCheck>(sp), HealthStatus.Degraded, tags));
            }
        });
        return builder;
    }
}
