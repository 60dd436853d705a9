using Microsoft.Extensions.Compliance.Redaction;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// A customer id as a log message shows it: redacted (hashed by default) unless the host opted in to plain ids. The redaction
/// runs only when the message is written, so a disabled log level costs nothing.
/// </summary>
internal readonly struct LoggedId
{
    private readonly string? _value;
    private readonly Redactor? _redactor;

    public LoggedId(string? value, Redactor? redactor)
    {
        _value = value;
        _redactor = redactor;
    }

    /// <inheritdoc />
    public override string ToString() => _value is null ? string.Empty : _redactor is null ? _value : _redactor.Redact(_value);
}

/// <summary>Makes <see cref="LoggedId"/>s with the redactor the options chose.</summary>
internal sealed class LogIds
{
    private readonly Redactor? _redactor;

    private LogIds(Redactor? redactor) => _redactor = redactor;

    /// <summary>Hashed ids (for components built without options).</summary>
    public static LogIds Hashed { get; } = new(PersonalDataHashRedactor.Instance);

    /// <summary>The log ids the options ask for: plain when <see cref="EngagementOptions.LogCustomerIdsInPlain"/>, else the host's redactor for personal data, else hashed.</summary>
    public static LogIds For(EngagementOptions options)
        => options.LogCustomerIdsInPlain ? new LogIds(null) : new LogIds(options.LogRedactor ?? PersonalDataHashRedactor.Instance);

    public LoggedId Of(CustomerId id) => new(id.IsEmpty ? null : id.Value, _redactor);
}

/// <summary>Gives <see cref="EngagementOptions"/> the host's redactor for <see cref="EngagementDataClassifications.PersonalData"/>, where it registered one.</summary>
internal sealed class LogRedactorSetup(IServiceProvider services) : Microsoft.Extensions.Options.IPostConfigureOptions<EngagementOptions>
{
    public void PostConfigure(string? name, EngagementOptions options)
    {
        if (options.LogRedactor is null && services.GetService(typeof(IRedactorProvider)) is IRedactorProvider provider)
        {
            options.LogRedactor = provider.GetRedactor(EngagementDataClassifications.PersonalData);
        }
    }
}
