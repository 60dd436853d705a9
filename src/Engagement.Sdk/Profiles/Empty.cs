using System.Collections.Immutable;
using Engagement.Sdk.Channels;

namespace Engagement.Sdk.Profiles;

// Empty collections with ordinal comparers, shared by every new profile: creating them per profile costs hundreds of bytes.
internal static class Empty
{
    public static readonly ImmutableDictionary<string, TraitValue> Traits = ImmutableDictionary<string, TraitValue>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, Channel> ChannelByKey = ImmutableDictionary<string, Channel>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, DateTimeOffset> TimeByKey = ImmutableDictionary<string, DateTimeOffset>.Empty.WithComparers(StringComparer.Ordinal);
}
