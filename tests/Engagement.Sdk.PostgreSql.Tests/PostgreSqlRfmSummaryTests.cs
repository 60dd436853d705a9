using Engagement.Sdk.Value.Clv;
using Npgsql;
using NpgsqlTypes;

namespace Engagement.Sdk.PostgreSql.Tests;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlRfmSummaryTests(PostgreSqlServerFixture server) : IAsyncLifetime
{
    private static readonly DateOnly Start = new(2024, 1, 1);
    private static readonly DateOnly CalibrationEnd = Start.AddDays(363);
    private static readonly DateOnly HoldoutEnd = Start.AddDays(2 * 364 - 1);

    // Names that need quoting: spaces, capitals, a double quote, a non-ASCII character.
    private readonly string _schema = "Shop \"Data\" " + Guid.NewGuid().ToString("N")[..8];
    private NpgsqlDataSource _dataSource = null!;

    public Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await using (var drop = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {Quote(_schema)} CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task ReadCustomersAsync_SameTransactions_EqualsTheInMemorySummaryForEveryCustomer()
    {
        var transactions = Transactions();
        var table = await CreateTableAsync("Purchases \"2024\"", transactions);
        var expected = RfmSummary.FromTransactions(transactions, CalibrationEnd, HoldoutEnd, TimeUnit.Weeks);

        var actual = new List<CustomerRfm>();
        await foreach (var customer in new PostgreSqlRfmSummary(_dataSource, table).ReadCustomersAsync(CalibrationEnd, HoldoutEnd, TimeUnit.Weeks))
        {
            actual.Add(customer);
        }

        actual.Should().HaveCount(expected.Customers.Length);
        actual.ToDictionary(c => c.CustomerId).Should().BeEquivalentTo(expected.Customers.ToDictionary(c => c.CustomerId));
        actual.Sum(c => c.Frequency).Should().Be(expected.RepeatTransactions);
        actual.Sum(c => c.HoldoutFrequency).Should().Be(expected.HoldoutTransactions);
        expected.Customers.Should().Contain(c => c.Frequency > 3 && c.HoldoutFrequency > 0, "the data exercise repeat and holdout purchases");
    }

    [Fact]
    public async Task ReadCustomersAsync_InDaysWithoutHoldout_EqualsTheInMemorySummary()
    {
        var transactions = Transactions();
        var table = await CreateTableAsync("days", transactions);
        var expected = RfmSummary.FromTransactions(transactions, CalibrationEnd, null, TimeUnit.Days);

        var actual = new List<CustomerRfm>();
        await foreach (var customer in new PostgreSqlRfmSummary(_dataSource, table).ReadCustomersAsync(CalibrationEnd, null, TimeUnit.Days))
        {
            actual.Add(customer);
        }

        actual.ToDictionary(c => c.CustomerId).Should().BeEquivalentTo(expected.Customers.ToDictionary(c => c.CustomerId));
    }

    [Fact]
    public async Task ReadModelDataAsync_GroupedInTheDatabase_FitsExactlyAsTheInMemorySummary()
    {
        var transactions = Transactions();
        var table = await CreateTableAsync("model", transactions);
        var inMemory = RfmSummary.FromTransactions(transactions, CalibrationEnd, HoldoutEnd, TimeUnit.Weeks).ToData();

        var data = await new PostgreSqlRfmSummary(_dataSource, table).ReadModelDataAsync(CalibrationEnd, TimeUnit.Weeks);

        data.Rows.Should().Be(inMemory.Rows);
        data.Rows.Should().BeLessThan((int)data.TotalWeight, "customers share histories, so fewer rows than customers leave the database");
        data.TotalWeight.Should().Be(inMemory.TotalWeight);
        var fromDatabase = BgNbdModel.Fit(data);
        var fromMemory = BgNbdModel.Fit(inMemory);
        fromDatabase.FitResult!.LogLikelihood.Should().Be(fromMemory.FitResult!.LogLikelihood);
        fromDatabase.R.Should().Be(fromMemory.R);
        fromDatabase.B.Should().Be(fromMemory.B);
    }

    [Fact]
    public async Task ReadSpendDataAsync_GroupedInTheDatabase_FitsGammaGammaAsTheInMemorySummary()
    {
        var transactions = Transactions();
        var table = await CreateTableAsync("spend", transactions);
        var buyers = RfmSummary.FromTransactions(transactions, CalibrationEnd, HoldoutEnd, TimeUnit.Weeks).Customers
            .Where(c => c.Frequency > 0 && c.MeanRepeatSpend > 0)
            .Select(c => (c.Frequency, (double)c.MeanRepeatSpend, 1.0))
            .ToList();

        var rows = await new PostgreSqlRfmSummary(_dataSource, table).ReadSpendDataAsync(CalibrationEnd);

        rows.Sum(r => r.Weight).Should().Be(buyers.Count);
        rows.Count.Should().BeLessThan(buyers.Count, "buyers sharing (x, mean spend) leave the database as one row");

        // The same likelihood at any parameters (only the order of the sum differs), hence the same fit up to the optimiser's tolerance.
        var fromMemory = GammaGammaModel.Fit(buyers);
        double[] at = [fromMemory.P, fromMemory.Q, fromMemory.Gamma];
        var expected = GammaGammaModel.LogLikelihood(at, buyers, new double[3]);
        GammaGammaModel.LogLikelihood(at, rows, new double[3]).Should().BeApproximately(expected, 1e-9 * Math.Abs(expected));
        var fromDatabase = GammaGammaModel.Fit(rows);
        fromDatabase.P.Should().BeApproximately(fromMemory.P, 1e-5 * fromMemory.P);
        fromDatabase.Q.Should().BeApproximately(fromMemory.Q, 1e-5 * fromMemory.Q);
        fromDatabase.Gamma.Should().BeApproximately(fromMemory.Gamma, 1e-5 * fromMemory.Gamma);
    }

    [Fact]
    public async Task ReadCustomersAsync_NegativeAmount_NamesTheCustomer()
    {
        Transaction[] transactions = [new("ann", Start, 10), new("bob", Start.AddDays(1), 5), new("bob", Start.AddDays(9), -3)];
        var table = await CreateTableAsync("refunds", transactions);
        var summary = new PostgreSqlRfmSummary(_dataSource, table);

        var customers = async () =>
        {
            await foreach (var _ in summary.ReadCustomersAsync(CalibrationEnd))
            {
            }
        };
        var model = () => summary.ReadModelDataAsync(CalibrationEnd);
        var spend = () => summary.ReadSpendDataAsync(CalibrationEnd);

        foreach (var read in new[] { customers, model, spend })
        {
            var error = (await read.Should().ThrowAsync<EngagementValidationException>()).Which;
            error.Field.Should().Be("Amount €");
            error.Value.Should().Be("bob");
            error.Rule.Should().Contain("negative");
        }
    }

    [Fact]
    public async Task ReadCustomersAsync_HoldoutBeforeCalibration_IsRejected()
    {
        var table = await CreateTableAsync("periods", [new("ann", Start, 10)]);

        var read = async () =>
        {
            await foreach (var _ in new PostgreSqlRfmSummary(_dataSource, table).ReadCustomersAsync(CalibrationEnd, CalibrationEnd))
            {
            }
        };

        (await read.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("holdoutEnd");
    }

    [Fact]
    public async Task ReadModelDataAsync_NameWithSqlInIt_IsAnIdentifierNotSql()
    {
        var victim = await CreateTableAsync("victim", [new("ann", Start, 10), new("ann", Start.AddDays(3), 10)]);
        var hostile = new PostgreSqlTransactionTable($"victim\"; DROP TABLE {Quote(_schema)}.\"victim\"; --", "Customer", "Bought At", "Amount €", _schema);

        var read = () => new PostgreSqlRfmSummary(_dataSource, hostile).ReadModelDataAsync(CalibrationEnd);

        (await read.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.UndefinedTable);
        (await new PostgreSqlRfmSummary(_dataSource, victim).ReadModelDataAsync(CalibrationEnd)).TotalWeight.Should().Be(1, "the table is still there");
    }

    [Theory]
    [InlineData("", "table")]
    [InlineData("a\0b", "table")]
    [InlineData("this_name_is_far_longer_than_the_sixty_three_bytes_postgresql_keeps", "table")]
    public void Table_BadName_IsRejectedNamingTheArgument(string name, string field)
    {
        var create = () => new PostgreSqlTransactionTable(name, "c", "d", "a");

        create.Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
    }

    [Fact]
    public void Constructor_NonPositiveTimeout_IsRejected()
    {
        var create = () => new PostgreSqlRfmSummary(_dataSource, new PostgreSqlTransactionTable("t", "c", "d", "a"), TimeSpan.Zero);

        create.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("commandTimeout");
    }

    /// <summary>
    /// A seeded simulated shop (purchases over two years), with the awkward cases added: several purchases of one customer on
    /// one day, purchases after the holdout end, customers whose first purchase is after the calibration end, zero amounts.
    /// </summary>
    private static List<Transaction> Transactions()
    {
        var simulated = BgNbdModel.FromParameters(0.4, 4, 0.8, 2.5)
            .SimulateTransactions(1500, Start, HoldoutEnd.AddDays(60), 84, GammaGammaModel.FromParameters(6, 3.8, 15), TimeUnit.Weeks, seed: 5);
        var transactions = simulated.ToList();
        transactions.AddRange(simulated.Where((_, i) => i % 7 == 0).Select(t => t with { Amount = 3.25m }));
        transactions.Add(new Transaction("late", CalibrationEnd.AddDays(5), 20));
        transactions.Add(new Transaction("late", CalibrationEnd.AddDays(40), 20));
        transactions.Add(new Transaction("free", Start.AddDays(3), 0));
        transactions.Add(new Transaction("free", Start.AddDays(30), 0));
        return transactions;
    }

    private async Task<PostgreSqlTransactionTable> CreateTableAsync(string name, IReadOnlyList<Transaction> transactions)
    {
        var table = new PostgreSqlTransactionTable(name, "Customer", "Bought At", "Amount €", _schema);
        var quoted = $"{Quote(_schema)}.{Quote(name)}";
        await using (var create = _dataSource.CreateCommand(
            $"CREATE SCHEMA IF NOT EXISTS {Quote(_schema)}; CREATE TABLE {quoted} (id bigserial, \"Customer\" text, \"Bought At\" timestamp, \"Amount €\" numeric(12, 2), note text)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var connection = await _dataSource.OpenConnectionAsync();
        await using (var copy = await connection.BeginBinaryImportAsync($"COPY {quoted} (\"Customer\", \"Bought At\", \"Amount €\", note) FROM STDIN (FORMAT BINARY)"))
        {
            var i = 0;
            foreach (var t in transactions)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(t.CustomerId, NpgsqlDbType.Text);
                await copy.WriteAsync(t.Date.ToDateTime(new TimeOnly(9 + (i % 12), i % 60)), NpgsqlDbType.Timestamp);
                await copy.WriteAsync(t.Amount, NpgsqlDbType.Numeric);
                await copy.WriteAsync("row " + i++, NpgsqlDbType.Text);
            }

            // Rows the summary leaves out: a NULL customer, date or amount.
            foreach (var (customer, date, amount) in new (string?, DateTime?, decimal?)[] { (null, Start.ToDateTime(TimeOnly.MinValue), 5m), ("nulls", null, 5m), ("nulls", Start.ToDateTime(TimeOnly.MinValue), null) })
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(customer, NpgsqlDbType.Text);
                await copy.WriteAsync(date, NpgsqlDbType.Timestamp);
                await copy.WriteAsync(amount, NpgsqlDbType.Numeric);
                await copy.WriteNullAsync();
            }

            await copy.CompleteAsync();
        }

        return table;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
