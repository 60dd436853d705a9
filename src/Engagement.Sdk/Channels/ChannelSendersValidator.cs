using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels;

/// <summary>
/// Checks when the host starts that each channel has one sender: a second sender for a channel is an error naming both,
/// rather than one silently taking the other's messages.
/// </summary>
internal sealed class ChannelSendersValidator(IEnumerable<IChannelSender> senders) : IValidateOptions<DispatchOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DispatchOptions options)
    {
        var message = Describe(senders);
        return message is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(message);
    }

    /// <summary>The error for the first channel served by more than one sender, or <see langword="null"/> when each has one.</summary>
    /// <param name="senders">The registered senders.</param>
    /// <returns>The error, naming the channel and both senders' types.</returns>
    internal static string? Describe(IEnumerable<IChannelSender> senders)
    {
        var first = new Dictionary<Channel, IChannelSender>();
        foreach (var sender in senders)
        {
            if (sender is null)
            {
                continue;
            }

            if (first.TryGetValue(sender.Channel, out var earlier))
            {
                return $"Channel '{sender.Channel.Name}' has two senders, {Name(earlier)} and {Name(sender)}{(earlier.GetType() == sender.GetType() ? " (two instances)" : string.Empty)}: register one sender per channel.";
            }

            first.Add(sender.Channel, sender);
        }

        return null;
    }

    private static string Name(IChannelSender sender) => sender.GetType().FullName ?? sender.GetType().Name;
}
