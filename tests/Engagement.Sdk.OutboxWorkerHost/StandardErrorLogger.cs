using Microsoft.Extensions.Logging;

namespace Engagement.Sdk.OutboxWorkerHost;

/// <summary>Writes warnings and errors to standard error, one line each with the worker's id, for the test to show when a run fails.</summary>
/// <param name="workerId">The worker.</param>
internal sealed class StandardErrorLoggerProvider(string workerId) : ILoggerProvider
{
    private readonly Lock _lock = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        var line = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {workerId} {level} {category}[{eventId.Id}] {message}{(exception is null ? string.Empty : " (" + exception.GetType().Name + ")")}";
        lock (_lock)
        {
            Console.Error.WriteLine(line);
        }
    }

    private sealed class Logger(StandardErrorLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }
}
