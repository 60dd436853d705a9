namespace Engagement.Sdk.Value.Clv;

/// <summary>The rule every model parameter obeys: finite and positive.</summary>
internal static class ModelParameters
{
    public static void RequirePositive(params (string Name, double Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            if (!(value > 0) || !double.IsFinite(value))
            {
                throw new EngagementValidationException(name, value, "must be a finite positive number");
            }
        }
    }
}
