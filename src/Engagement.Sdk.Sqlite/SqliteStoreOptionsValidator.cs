using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// Validates <see cref="SqliteStoreOptions"/> at start-up: an empty connection string, a busy timeout outside 10 milliseconds
/// to 10 minutes, a negative checkpoint size, or a page cache outside 512 KiB to 16 GiB fails, naming the option, its value and the rule.
/// </summary>
public sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    /// <summary>The smallest <see cref="SqliteStoreOptions.CacheSizeKib"/> accepted.</summary>
    public const int MinCacheSizeKib = 512;

    /// <summary>The largest <see cref="SqliteStoreOptions.CacheSizeKib"/> accepted (16 GiB).</summary>
    public const int MaxCacheSizeKib = 16 * 1024 * 1024;

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

        if (options.CacheSizeKib is < MinCacheSizeKib or > MaxCacheSizeKib)
        {
            failures.Add($"SqliteStoreOptions.CacheSizeKib is {options.CacheSizeKib}: it must be from {MinCacheSizeKib} to {MaxCacheSizeKib} KiB.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
