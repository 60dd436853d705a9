using Engagement.Sdk.Channels;
using Engagement.Sdk.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.DependencyInjection;

/// <summary><c>AddEngagement()</c> is idempotent, and a channel has one sender.</summary>
public sealed class AddEngagementTests
{
    [Fact]
    public void AddEngagement_CalledTwice_RegistersNothingTwice()
    {
        var once = new ServiceCollection();
        once.AddEngagement().AddChannel<EmailSender>().UseSqlite("Data Source=:memory:");
        var twice = new ServiceCollection();
        twice.AddEngagement().AddChannel<EmailSender>().UseSqlite("Data Source=:memory:");
        twice.AddEngagement().AddChannel<EmailSender>().UseSqlite("Data Source=:memory:");

        static IEnumerable<string> Describe(IServiceCollection services) => services
            .Where(d => !IsConfigureAction(d))
            .Select(d => $"{d.ServiceType} <- {d.ImplementationType?.FullName ?? d.ImplementationInstance?.GetType().FullName ?? "factory"}");

        Describe(twice).Should().BeEquivalentTo(Describe(once));
        Describe(twice).Where(d => d.Contains("IValidateOptions", StringComparison.Ordinal)).Should().OnlyHaveUniqueItems().And.HaveCountGreaterThan(3);
    }

    [Fact]
    public async Task AddEngagement_CalledTwiceWithBadDispatchOptions_ReportsEachFailureOnce()
    {
        var services = new ServiceCollection();
        services.AddEngagement();
        services.AddEngagement();
        services.Configure<DispatchOptions>(o => o.BatchSize = 0);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        failures.Should().ContainSingle(f => f.Contains("DispatchOptions.BatchSize", StringComparison.Ordinal));
    }

    [Fact]
    public void AddChannel_SameInstanceTwice_RegistersItOnce()
    {
        var services = new ServiceCollection();
        var email = new InMemoryChannelSender(Channel.Email);

        services.AddEngagement().AddChannel(email).AddChannel(email).AddChannel(new InMemoryChannelSender(Channel.Sms));

        services.Count(d => d.ServiceType == typeof(IChannelSender)).Should().Be(2);
    }

    [Fact]
    public async Task StartUp_TwoSendersForOneChannel_FailsNamingBoth()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Email)).AddChannel<EmailSender>();
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle().Which.Should().Be(
            $"Channel 'email' has two senders, {typeof(InMemoryChannelSender).FullName} and {typeof(EmailSender).FullName}: register one sender per channel.");
    }

    [Fact]
    public async Task StartUp_OneSenderPerChannel_Passes()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Sms)).AddChannel<EmailSender>();
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow();
    }

    private static bool IsConfigureAction(ServiceDescriptor d)
        => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() is var g
           && (g == typeof(IConfigureOptions<>) || g == typeof(IPostConfigureOptions<>));

    private sealed class EmailSender : IChannelSender
    {
        public Channel Channel => Channel.Email;

        public ChannelCapabilities Capabilities => ChannelCapabilities.None;

        public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(SendResult.Accepted);
    }
}
