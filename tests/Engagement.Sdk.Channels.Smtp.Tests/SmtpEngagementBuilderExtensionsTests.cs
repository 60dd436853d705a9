using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Smtp.Tests;

public sealed class SmtpEngagementBuilderExtensionsTests
{
    private static EmailContent Content(OutboundMessage message) => new("news@shop.example", "Hello", "Hello from " + message.ActionId);

    [Fact]
    public async Task AddSmtpChannel_Registered_SendsToTheConfiguredServer()
    {
        await using var server = new TestSmtpServer();
        var services = new ServiceCollection();
        services.AddEngagement().AddSmtpChannel(Content, o =>
        {
            o.Host = "127.0.0.1";
            o.Port = server.Port;
            o.Tls = SmtpTlsMode.None;
        });
        await using var provider = services.BuildServiceProvider();

        var sender = provider.GetServices<IChannelSender>().Should().ContainSingle().Which;
        sender.Should().BeOfType<SmtpChannelSender>();
        sender.Channel.Should().Be(Channel.Email);
        sender.Capabilities.Should().Be(ChannelCapabilities.None);
        var result = await sender.SendAsync(new OutboundMessage("d-7", new CustomerId("c-1"), Channel.Email, Purpose.Transactional, Identifier.Email("ada@example.com"), "receipt", null));

        result.Should().Be(SendResult.Accepted);
        server.Messages.Should().ContainSingle().Which.MessageId.Should().Be("d-7@shop.example");
    }

    [Fact]
    public async Task AddSmtpChannel_NoHost_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddSmtpChannel(Content, static _ => { });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("SmtpChannelOptions.Host");
    }
}
