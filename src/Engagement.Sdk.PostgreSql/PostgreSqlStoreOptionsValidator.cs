using Microsoft.Extensions.Options;
using Npgsql;

namespace Engagement.Sdk.PostgreSql;

/// <summary>
/// Validates <see cref="PostgreSqlStoreOptions"/> at start-up: an empty or unreadable connection string, a schema name that
/// is not a plain identifier, or a command timeout outside 1 second to 1 hour fails.
/// </summary>
public sealed class PostgreSqlStoreOptionsValidator : IValidateOptions<PostgreSqlStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PostgreSqlStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("PostgreSqlStoreOptions.ConnectionString is empty: give a connection string such as 'Host=127.0.0.1;Database=shop;Username=shop'.");
        }
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException e)
            {
                failures.Add($"PostgreSqlStoreOptions.ConnectionString cannot be read: {e.Message}");
            }
        }

        if (PostgreSqlDatabase.SchemaNameProblem(options.Schema) is { } problem)
        {
            failures.Add($"PostgreSqlStoreOptions.Schema '{options.Schema}': {problem}.");
        }

        if (PostgreSqlDatabase.CommandTimeoutProblem(options.CommandTimeout) is { } timeout)
        {
            failures.Add($"PostgreSqlStoreOptions.CommandTimeout is {options.CommandTimeout}: {timeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
