using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Profiles;

// Empty collections with ordinal comparers, shared by every new profile: creating them per profile costs hundreds of bytes.
internal static class Empty
{
    public static readonly ImmutableDictionary<string, Money> MoneyByKey = ImmutableDictionary<string, Money>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, int> CountByKey = ImmutableDictionary<string, int>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableHashSet<string> Keys = ImmutableHashSet<string>.Empty.WithComparer(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, TraitValue> Traits = ImmutableDictionary<string, TraitValue>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, Channel> ChannelByKey = ImmutableDictionary<string, Channel>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, DateTimeOffset> TimeByKey = ImmutableDictionary<string, DateTimeOffset>.Empty.WithComparers(StringComparer.Ordinal);
    public static readonly ImmutableDictionary<string, JourneyPosition> Journeys = ImmutableDictionary<string, JourneyPosition>.Empty.WithComparers(StringComparer.Ordinal);
}
