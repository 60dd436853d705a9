using BenchmarkDotNet.Attributes;
using Engagement.Sdk.PostgreSql;
using Engagement.Sdk.Value.Clv;
using Npgsql;
using NpgsqlTypes;

namespace Engagement.Sdk.Benchmarks.PostgreSql;

/// <summary>
/// The lifetime-value summary computed inside PostgreSQL (<see cref="PostgreSqlRfmSummary"/>) over 10,000,000 transactions of
/// 1,000,000 customers (the data of <see cref="Clv.ClvSummaryBenchmarks"/>), against the in-memory summary of the same rows. Needs
/// a server: <c>ENGAGEMENT_SDK_POSTGRES</c> names it (a connection string); the table is created in a schema of its own and
/// dropped at the end. Each operation takes seconds: run it in process with a few monitored iterations (the command is in
/// docs/benchmarks.md).
/// </summary>
[MemoryDiagnoser]
public class PostgreSqlSummaryBenchmarks
{
    private const int Rows = 10_000_000;
    private static readonly DateOnly CalibrationEnd = new(2024, 12, 31);
    private static readonly DateOnly HoldoutEnd = new(2025, 12, 31);
    private readonly string _schema = "clv_bench_" + Guid.NewGuid().ToString("N")[..8];
    private NpgsqlDataSource _dataSource = null!;
    private PostgreSqlRfmSummary _summary = null!;
    private Transaction[] _transactions = null!;

    [GlobalSetup]
    public void Setup()
    {
        var connectionString = Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_POSTGRES");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Set ENGAGEMENT_SDK_POSTGRES to a PostgreSQL connection string to run this benchmark.");
        }

        var random = new Random(3);
        var ids = Enumerable.Range(0, 1_000_000).Select(i => "c" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var start = new DateOnly(2024, 1, 1);
        _transactions = new Transaction[Rows];
        for (var i = 0; i < _transactions.Length; i++)
        {
            _transactions[i] = new Transaction(ids[random.Next(ids.Length)], start.AddDays(random.Next(730)), 10m + (random.Next(10_000) / 100m));
        }

        _dataSource = NpgsqlDataSource.Create(connectionString);
        using (var create = _dataSource.CreateCommand($"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.purchases (customer_id text NOT NULL, bought_on date NOT NULL, amount numeric(12, 2) NOT NULL)"))
        {
            create.ExecuteNonQuery();
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var connection = _dataSource.OpenConnection())
        using (var copy = connection.BeginBinaryImport($"COPY {_schema}.purchases FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var t in _transactions)
            {
                copy.StartRow();
                copy.Write(t.CustomerId, NpgsqlDbType.Text);
                copy.Write(t.Date, NpgsqlDbType.Date);
                copy.Write(t.Amount, NpgsqlDbType.Numeric);
            }

            copy.Complete();
        }

        using (var analyze = _dataSource.CreateCommand($"ANALYZE {_schema}.purchases"))
        {
            analyze.ExecuteNonQuery();
        }

        Console.WriteLine($"// {Rows:N0} transactions copied into PostgreSQL in {clock.Elapsed.TotalSeconds:F1} s");
        _summary = new PostgreSqlRfmSummary(_dataSource, new PostgreSqlTransactionTable("purchases", "customer_id", "bought_on", "amount", _schema));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        using (var drop = _dataSource.CreateCommand($"DROP SCHEMA {_schema} CASCADE"))
        {
            drop.ExecuteNonQuery();
        }

        _dataSource.Dispose();
    }

    /// <summary>The in-memory summary of the same transactions, already in memory.</summary>
    [Benchmark(Baseline = true)]
    public int InMemory() => RfmSummary.FromTransactions(_transactions, CalibrationEnd, HoldoutEnd, TimeUnit.Days).Customers.Length;

    /// <summary>Every customer's summary, streamed out of PostgreSQL.</summary>
    [Benchmark]
    public async Task<int> StreamCustomers()
    {
        var count = 0;
        await foreach (var _ in _summary.ReadCustomersAsync(CalibrationEnd, HoldoutEnd, TimeUnit.Days))
        {
            count++;
        }

        return count;
    }

    /// <summary>Only the distinct (x, tₓ, T) rows with their counts: what a fit needs.</summary>
    [Benchmark]
    public async Task<int> ModelData() => (await _summary.ReadModelDataAsync(CalibrationEnd, TimeUnit.Days)).Rows;
}
