using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Hosting.Tests;

/// <summary>The health checks, through the <see cref="HealthCheckService"/> that ASP.NET Core's <c>MapHealthChecks</c> uses.</summary>
public sealed class EngagementHealthChecksTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Checks_RunningHostWithAnsweringStore_AreHealthy()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = Build(clock);
        await host.StartAsync();
        await Eventually.HoldsAsync(() => host.Services.GetRequiredService<EngagementBackgroundStatus>().Works.All(w => w.LastSucceededAt is not null));

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        report.Entries.Keys.Should().BeEquivalentTo("engagement-store", "engagement-background");
        report.Status.Should().Be(HealthStatus.Healthy);
        await host.StopAsync();
    }

    [Fact]
    public async Task StoreCheck_StoreThatThrows_IsUnhealthyNamingTheExceptionTypeOnly()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = Build(clock, s => s.Replace(ServiceDescriptor.Singleton<IProfileStore, BrokenProfileStore>()));

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "engagement-store");

        var entry = report.Entries["engagement-store"];
        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Description.Should().Contain(typeof(IOException).FullName).And.NotContain("ann@example.com");
    }

    [Fact]
    public async Task BackgroundCheck_WorkThatKeepsFailing_IsDegradedOnceItFallsBehindByMoreThanMaxLag()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = Build(clock, s => s.AddEngagementBackgroundWork<EngagementBackgroundServiceTests.FailingWork>(), o => o.MaxLag = TimeSpan.FromMinutes(5));
        var failing = host.Services.GetServices<IEngagementBackgroundWork>().OfType<EngagementBackgroundServiceTests.FailingWork>().Single();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await host.StartAsync();
        await Eventually.HoldsAsync(() => failing.Calls >= 1);

        (await health.CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy, "no work is behind yet");
        await Eventually.HoldsAsync(() => clock.GetUtcNow() > T0 + TimeSpan.FromMinutes(7), clock, TimeSpan.FromSeconds(30));
        var report = await health.CheckHealthAsync();

        var entry = report.Entries["engagement-background"];
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().Contain("failing (").And.Contain("last failure System.IO.IOException").And.NotContain("outbox-delivery");
        ((double)entry.Data["failing.lag_seconds"]).Should().BeGreaterThan(300);
        await host.StopAsync();
    }

    [Fact]
    public async Task BackgroundCheck_ServiceNotRunning_IsDegraded()
    {
        using var host = Build(new FakeTimeProvider(T0));

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "engagement-background");

        report.Entries["engagement-background"].Status.Should().Be(HealthStatus.Degraded);
        report.Entries["engagement-background"].Description.Should().Contain("not running");
    }

    [Fact]
    public void AddEngagementHealthChecks_CalledTwice_RegistersEachCheckOnce()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddEngagementHealthChecks().AddEngagementHealthChecks("ready");
        using var provider = services.BuildServiceProvider();

        var registrations = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations;

        registrations.Select(r => r.Name).Should().Equal("engagement-store", "engagement-background");
    }

    private static IHost Build(FakeTimeProvider clock, Action<IServiceCollection>? configure = null, Action<EngagementBackgroundOptions>? options = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Email));
        builder.Services.AddEngagementBackgroundServices(options);
        builder.Services.AddHealthChecks().AddEngagementHealthChecks();
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    private sealed class BrokenProfileStore : IProfileStore
    {
        public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
            => throw new IOException("cannot open the file of ann@example.com");

        public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default) => throw new IOException();

        public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default) => throw new IOException();

        public IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => throw new IOException();
    }
}
