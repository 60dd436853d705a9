using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Channels;

/// <summary>Where a message on a channel goes: which of the customer's identifiers is its address.</summary>
public static class ChannelAddress
{
    /// <summary>The identifier kind that addresses <paramref name="channel"/>, or <see langword="null"/> for channels that reach the customer where they are (web, in-app, social).</summary>
    /// <param name="channel">The channel.</param>
    /// <returns>The kind.</returns>
    public static IdentifierKind? KindFor(Channel channel)
        => channel == Channel.Email ? IdentifierKind.Email
        : channel == Channel.Sms || channel == Channel.Phone ? IdentifierKind.Phone
        : channel == Channel.Push ? IdentifierKind.Device
        : null;

    /// <summary>Finds the customer's address on <paramref name="channel"/>.</summary>
    /// <param name="profile">The customer.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="address">The address, or <see langword="null"/> when the channel needs none.</param>
    /// <returns><see langword="false"/> when the channel needs an address the customer does not have.</returns>
    public static bool TryFind(CustomerProfile profile, Channel channel, out Identifier? address)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (KindFor(channel) is not { } kind)
        {
            address = null;
            return true;
        }

        address = profile.FindIdentifier(kind);
        return address is not null;
    }
}
