using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Tests.Serialization;

/// <summary>The check every hand-written document writer answers to: it knows every property of the source-generated contract.</summary>
internal static class HandWrittenContract
{
    /// <summary>
    /// Each type's names, as the writer declares it writes them, are the contract's serialized properties in the contract's
    /// order: a property added to the model and not written by hand fails here, before it could be lost from a store.
    /// </summary>
    public static void ShouldMatch(IReadOnlyDictionary<Type, string[]> written)
    {
        foreach (var (type, names) in written)
        {
            var contract = EngagementJsonContext.Default.GetTypeInfo(type)!.Properties
                .Where(p => p.AttributeProvider?.IsDefined(typeof(System.Text.Json.Serialization.JsonIgnoreAttribute), inherit: false) != true)
                .Select(p => p.Name)
                .ToArray();
            names.Should().Equal(contract, $"{type.Name} is written by hand in the contract's order");
        }
    }
}
