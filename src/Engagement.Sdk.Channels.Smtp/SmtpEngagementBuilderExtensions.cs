using Engagement.Sdk.Channels;
using Engagement.Sdk.Channels.Smtp;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Delivers email through an SMTP server.</summary>
public static class SmtpEngagementBuilderExtensions
{
    /// <summary>Adds <see cref="Channel.Email"/>, delivered by <see cref="SmtpChannelSender"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="content">Supplies each message's From address, subject and body.</param>
    /// <param name="configure">Configures the server; validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder AddSmtpChannel(this EngagementBuilder builder, Func<OutboundMessage, EmailContent> content, Action<SmtpChannelOptions> configure)
        => builder.AddSmtpChannel(Channel.Email, content, configure);

    /// <summary>Adds a channel delivered by <see cref="SmtpChannelSender"/>, with its own options named <c>Engagement.Sdk.Channels.Smtp.{channel}</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="channel">The channel the server serves.</param>
    /// <param name="content">Supplies each message's From address, subject and body.</param>
    /// <param name="configure">Configures the server; validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder AddSmtpChannel(this EngagementBuilder builder, Channel channel, Func<OutboundMessage, EmailContent> content, Action<SmtpChannelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(configure);
        if (channel.IsEmpty)
        {
            throw new Engagement.Sdk.EngagementValidationException("channel", null, "an SMTP server serves one named channel");
        }

        var name = OptionsName(channel);
        builder.Services.AddOptions<SmtpChannelOptions>(name)
            .Configure(configure)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmtpChannelOptions>, SmtpChannelOptionsValidator>());
        builder.Services.AddSingleton<IChannelSender>(sp => new SmtpChannelSender(
            channel,
            sp.GetRequiredService<IOptionsMonitor<SmtpChannelOptions>>().Get(name),
            content,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return builder;
    }

    /// <summary>The name of a channel's <see cref="SmtpChannelOptions"/>.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns>The name, <c>Engagement.Sdk.Channels.Smtp.{channel}</c>.</returns>
    public static string OptionsName(Channel channel) => "Engagement.Sdk.Channels.Smtp." + channel.Name;
}
