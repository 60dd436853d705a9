using System.Text.Json.Serialization;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// The source-generated JSON contract of the SDK's documents: events, profiles, consent records and dispatches. Property
/// names are camelCase; enums are strings; instants must carry an offset; unknown and duplicate properties are rejected.
/// Trimming- and AOT-safe.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowDuplicateProperties = false,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowOutOfOrderMetadataProperties = true,
    Converters = [typeof(StrictDateTimeOffsetConverter)])]
[JsonSerializable(typeof(EngagementEvent))]
[JsonSerializable(typeof(CustomerProfile))]
[JsonSerializable(typeof(ConsentRecord))]
[JsonSerializable(typeof(DispatchRecord))]
[JsonSerializable(typeof(List<ConsentRecord>))]
[JsonSerializable(typeof(ConsentExport))]
[JsonSerializable(typeof(Suppression))]
[JsonSerializable(typeof(CustomerExport))]
[JsonSerializable(typeof(Households.Household))]
public sealed partial class EngagementJsonContext : JsonSerializerContext
{
}
