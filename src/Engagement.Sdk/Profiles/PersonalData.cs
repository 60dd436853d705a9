using System.Collections.Immutable;
using System.Reflection;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Marks a property of the model that holds personal data (something that identifies or describes a person): it is part
/// of every export and is removed by an erasure. <see cref="PersonalDataInventory"/> lists the marked properties.
/// </summary>
/// <remarks>
/// It is a <see cref="Microsoft.Extensions.Compliance.Classification.DataClassificationAttribute"/> of
/// <see cref="Diagnostics.EngagementDataClassifications.PersonalData"/>, so <c>Microsoft.Extensions.Compliance.Redaction</c> redacts the
/// marked properties and parameters with the redactor registered for that class.
/// </remarks>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, Inherited = true, AllowMultiple = false)]
public sealed class PersonalDataAttribute : Microsoft.Extensions.Compliance.Classification.DataClassificationAttribute
{
    /// <summary>Marks a property or parameter as personal data.</summary>
    public PersonalDataAttribute()
        : base(Diagnostics.EngagementDataClassifications.PersonalData)
    {
    }
}

/// <summary>The model's personal-data fields, found from <see cref="PersonalDataAttribute"/> marks.</summary>
public static class PersonalDataInventory
{
    private static readonly Lazy<ImmutableArray<PropertyInfo>> Marked = new(Find);

    /// <summary>The model types whose properties are inventoried (profiles, identifiers, events, consent records and evidence).</summary>
    public static ImmutableArray<Type> ModelTypes { get; } =
        [typeof(CustomerProfile), typeof(Identifier), typeof(EngagementEvent), typeof(ProfileUpdated), typeof(CustomEvent), typeof(ConsentRecord), typeof(ConsentEvidence)];

    /// <summary>The marked properties, as <c>Type.Property</c> names in a stable order.</summary>
    public static ImmutableArray<string> Fields => [.. Marked.Value.Select(p => p.DeclaringType!.Name + "." + p.Name).Order(StringComparer.Ordinal)];

    private static ImmutableArray<PropertyInfo> Find()
    {
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        PropertyInfo[][] all =
        [
            typeof(CustomerProfile).GetProperties(Declared), typeof(Identifier).GetProperties(Declared),
            typeof(EngagementEvent).GetProperties(Declared), typeof(ProfileUpdated).GetProperties(Declared),
            typeof(CustomEvent).GetProperties(Declared), typeof(ConsentRecord).GetProperties(Declared),
            typeof(ConsentEvidence).GetProperties(Declared),
        ];
        return [.. all.SelectMany(p => p).Where(p => p.IsDefined(typeof(PersonalDataAttribute), inherit: true))];
    }
}
