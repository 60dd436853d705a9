namespace Engagement.Sdk;

/// <summary>The rule for the names of extensible enumerations (channels, purposes, identifier kinds, stage ids).</summary>
internal static class Names
{
    public const int MaxLength = 32;

    public static string Require(string field, string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new EngagementValidationException(field, name, "must not be empty");
        }

        if (name.Length > MaxLength)
        {
            throw new EngagementValidationException(field, name, $"must be at most {MaxLength} characters");
        }

        foreach (var c in name)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c is '_' or '-'))
            {
                throw new EngagementValidationException(field, name, "must hold only lower-case ASCII letters, digits, '_' or '-'");
            }
        }

        return string.IsInterned(name) ?? name;
    }
}
