namespace Engagement.Sdk.Testing.Conformance;

/// <summary>
/// Thrown when a store fails a conformance check: the message names what was checked, what was expected and what was found.
/// Every test framework reports it as a failure, as it reports any exception thrown by a test.
/// </summary>
public sealed class ConformanceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConformanceException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was expected and what was found.</param>
    public ConformanceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    /// <param name="message">What was expected and what was found.</param>
    /// <param name="innerException">The exception that caused the failure.</param>
    public ConformanceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
