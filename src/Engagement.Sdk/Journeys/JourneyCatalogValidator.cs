using Engagement.Sdk.Decisioning;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// Validates, when the host starts, that the options' journeys and the action catalogue's eligibility conditions compile
/// together (a stage condition names a registered journey's stage, a send step a catalogue action, a trait is declared), so
/// that a bad definition fails at start-up, not at the first event.
/// </summary>
/// <param name="actions">The action catalogue.</param>
public sealed class JourneyCatalogValidator(ActionCatalog actions) : IValidateOptions<EngagementOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EngagementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Journeys.Any(j => j is null))
        {
            return ValidateOptionsResult.Skip; // reported by EngagementOptionsValidator
        }

        try
        {
            JourneyCatalog.FromOptions(options, actions);
            return ValidateOptionsResult.Success;
        }
        catch (EngagementValidationException ex)
        {
            return ValidateOptionsResult.Fail($"Journeys: {ex.Message}");
        }
    }
}
