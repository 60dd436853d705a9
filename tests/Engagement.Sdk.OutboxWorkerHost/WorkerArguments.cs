namespace Engagement.Sdk.OutboxWorkerHost;

/// <summary>
/// What a worker process is told on its command line: <c>--endpoint &lt;uri&gt; --worker &lt;id&gt;</c> and either
/// <c>--sqlite &lt;path&gt;</c> or <c>--postgres &lt;connection string&gt; --schema &lt;name&gt;</c>.
/// </summary>
/// <param name="Endpoint">The provider's webhook.</param>
/// <param name="WorkerId">The worker's identity in leases.</param>
/// <param name="SqlitePath">The SQLite file, or <see langword="null"/> for PostgreSQL.</param>
/// <param name="PostgresConnectionString">The PostgreSQL connection string, or <see langword="null"/> for SQLite.</param>
/// <param name="PostgresSchema">The PostgreSQL schema, with <paramref name="PostgresConnectionString"/>.</param>
public sealed record WorkerArguments(Uri Endpoint, string WorkerId, string? SqlitePath, string? PostgresConnectionString, string? PostgresSchema)
{
    /// <summary>Reads the command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The arguments.</returns>
    /// <exception cref="ArgumentException">An argument is missing, unknown or without its value, or the store is not exactly one of the two.</exception>
    public static WorkerArguments Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            if (args[i] is not ("--endpoint" or "--worker" or "--sqlite" or "--postgres" or "--schema") || i + 1 >= args.Count)
            {
                throw new ArgumentException($"Argument {i} '{args[i]}' is unknown or has no value. {Usage}", nameof(args));
            }

            values[args[i]] = args[i + 1];
        }

        if (!values.TryGetValue("--endpoint", out var endpoint) || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"--endpoint must be an absolute URI. {Usage}", nameof(args));
        }

        if (!values.TryGetValue("--worker", out var worker) || worker.Length == 0)
        {
            throw new ArgumentException($"--worker is required. {Usage}", nameof(args));
        }

        var sqlite = values.GetValueOrDefault("--sqlite");
        var postgres = values.GetValueOrDefault("--postgres");
        var schema = values.GetValueOrDefault("--schema");
        if ((sqlite is null) == (postgres is null) || (postgres is null) != (schema is null))
        {
            throw new ArgumentException($"Give either --sqlite, or --postgres with --schema. {Usage}", nameof(args));
        }

        return new WorkerArguments(uri, worker, sqlite, postgres, schema);
    }

    /// <summary>The command line that <see cref="Parse"/> reads back.</summary>
    /// <returns>The arguments, each one argument.</returns>
    public IReadOnlyList<string> ToArguments()
        => SqlitePath is not null
            ? ["--endpoint", Endpoint.ToString(), "--worker", WorkerId, "--sqlite", SqlitePath]
            : ["--endpoint", Endpoint.ToString(), "--worker", WorkerId, "--postgres", PostgresConnectionString!, "--schema", PostgresSchema!];

    private const string Usage = "Usage: --endpoint <uri> --worker <id> (--sqlite <path> | --postgres <connection string> --schema <name>)";
}
