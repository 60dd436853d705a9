using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// Validates <see cref="SqliteStoreOptions"/> at start-up: an empty connection string, a busy timeout outside 10 milliseconds
/// to 10 minutes, a negative checkpoint size, or a page cache outside 1 MiB to 16 GiB fails, naming the option, its value and the rule.
/// </summary>
public sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("SqliteStoreOptions.ConnectionString is empty: give a connection string such as 'Data Source=shop.db'.");
        }

        if (SqliteDatabase.BusyTimeoutProblem(options.BusyTimeout) is { } problem)
        {
            failures.Add($"SqliteStoreOptions.BusyTimeout is {options.BusyTimeout}: {problem}.");
        }

        if (options.WalAutoCheckpointPages < 0)
        {
            failures.Add($"SqliteStoreOptions.WalAutoCheckpointPages is {options.WalAutoCheckpointPages}: it must be 0 (automatic checkpoints off) or a positive number of pages.");
        }

        if (SqliteDatabase.CacheSizeProblem(options.CacheSizeKibibytes) is { } cacheProblem)
        {
            failures.Add($"SqliteStoreOptions.CacheSizeKibibytes is {options.CacheSizeKibibytes}: {cacheProblem}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
