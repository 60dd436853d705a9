using Microsoft.Extensions.Compliance.Classification;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// The SDK's data classes for <c>Microsoft.Extensions.Compliance</c>: the properties marked
/// <see cref="Profiles.PersonalDataAttribute"/> carry <see cref="PersonalData"/>, and customer ids in log messages are redacted with
/// the redactor a host registers for it (<c>services.AddRedaction(r => r.SetRedactor&lt;MyRedactor&gt;(EngagementDataClassifications.PersonalData))</c>).
/// </summary>
public static class EngagementDataClassifications
{
    /// <summary>The name of the SDK's taxonomy.</summary>
    public const string TaxonomyName = "Engagement.Sdk";

    /// <summary>Data that identifies or describes a person: identifiers (email addresses, phone numbers), customer ids, traits, consent evidence.</summary>
    public static DataClassification PersonalData { get; } = new(TaxonomyName, nameof(PersonalData));
}
