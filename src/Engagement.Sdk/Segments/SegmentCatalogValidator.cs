using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Segments;

/// <summary>
/// Validates, when the host starts, that the options' segments compile (a unique valid name; every trait, event, channel,
/// purpose, journey and stage a condition names is known; no segment counts segment events), so that a bad segment fails at
/// start-up, not at the first event. The message names the field, the value and the rule.
/// </summary>
/// <param name="actions">The action catalogue (the journeys are compiled with it).</param>
public sealed class SegmentCatalogValidator(ActionCatalog actions) : IValidateOptions<EngagementOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EngagementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Segments.Count == 0 || options.Journeys.Any(j => j is null))
        {
            return ValidateOptionsResult.Skip; // a null journey is reported by EngagementOptionsValidator
        }

        JourneyCatalog journeys;
        try
        {
            journeys = JourneyCatalog.FromOptions(options, actions);
        }
        catch (EngagementValidationException)
        {
            return ValidateOptionsResult.Skip; // reported by JourneyCatalogValidator
        }

        try
        {
            SegmentCatalog.FromOptions(options, journeys);
            return ValidateOptionsResult.Success;
        }
        catch (EngagementValidationException ex)
        {
            return ValidateOptionsResult.Fail($"Segments: {ex.Message}");
        }
    }
}
