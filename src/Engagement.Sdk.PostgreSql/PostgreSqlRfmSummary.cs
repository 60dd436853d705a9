using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Engagement.Sdk.Value.Clv;
using Npgsql;
using NpgsqlTypes;

namespace Engagement.Sdk.PostgreSql;

/// <summary>
/// Where a host keeps its purchases: a table (or view) with one row per purchase and a column each for the customer id, the
/// purchase date and the amount. The names are used as written (case and all) and quoted in the SQL, so any name
/// PostgreSQL accepts works and none can inject SQL.
/// </summary>
public sealed record PostgreSqlTransactionTable
{
    private const int MaxIdentifierBytes = 63;

    /// <summary>Names the table and its columns.</summary>
    /// <param name="table">The table or view.</param>
    /// <param name="customerIdColumn">The customer id column (any type; compared as text).</param>
    /// <param name="dateColumn">The purchase date column: <c>date</c>, <c>timestamp</c> or <c>timestamptz</c> (cast to a date; a <c>timestamptz</c> in the session's time zone).</param>
    /// <param name="amountColumn">The amount column (any numeric type; summed as <c>numeric</c>).</param>
    /// <param name="schema">The schema, or <see langword="null"/> for the connection's search path.</param>
    /// <exception cref="EngagementValidationException">A name is empty, holds a NUL character, or is longer than PostgreSQL's 63 bytes.</exception>
    public PostgreSqlTransactionTable(string table, string customerIdColumn, string dateColumn, string amountColumn, string? schema = null)
    {
        Table = Check(table, nameof(table));
        CustomerIdColumn = Check(customerIdColumn, nameof(customerIdColumn));
        DateColumn = Check(dateColumn, nameof(dateColumn));
        AmountColumn = Check(amountColumn, nameof(amountColumn));
        Schema = schema is null ? null : Check(schema, nameof(schema));
    }

    /// <summary>The table or view.</summary>
    public string Table { get; }

    /// <summary>The customer id column.</summary>
    public string CustomerIdColumn { get; }

    /// <summary>The purchase date column.</summary>
    public string DateColumn { get; }

    /// <summary>The amount column.</summary>
    public string AmountColumn { get; }

    /// <summary>The schema, or <see langword="null"/> for the search path.</summary>
    public string? Schema { get; }

    /// <summary>The table's name quoted for SQL, with its schema when one is given.</summary>
    internal string QuotedTable => Schema is null ? Quote(Table) : Quote(Schema) + "." + Quote(Table);

    /// <summary>An identifier in double quotes, any double quote inside doubled: PostgreSQL reads it back exactly.</summary>
    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Check(string name, string field)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new EngagementValidationException(field, name, "must name a table or column (not empty)");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new EngagementValidationException(field, name, "must not contain a NUL character");
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxIdentifierBytes)
        {
            throw new EngagementValidationException(field, name, $"must be at most {MaxIdentifierBytes} bytes long (PostgreSQL would silently shorten it)");
        }

        return name;
    }
}

/// <summary>
/// The lifetime-value summary of every customer — x, tₓ, T, mean repeat spend and holdout purchases, with the conventions of
/// <see cref="RfmSummary"/> — computed inside PostgreSQL by one query over the host's transactions table, so that only the
/// per-customer rows (or only the distinct rows, for fitting) leave the database. A fit over a hundred million transactions
/// then needs in memory the distinct (x, tₓ, T) rows and nothing that grows with the transactions.
/// </summary>
/// <remarks>
/// The conventions are those of <see cref="RfmSummary.FromTransactions"/>: a customer's purchases on one calendar day are one
/// transaction (amounts summed); x is the distinct purchase days up to the calibration end (inclusive) less one; tₓ the last
/// of them less the first; T the calibration end less the first; the mean repeat spend leaves the first day out; holdout
/// purchases are the distinct days after the calibration end up to the holdout end; customers whose first purchase is after
/// the calibration end are left out. Rows whose customer id, date or amount is NULL are left out. A negative amount is an
/// <see cref="EngagementValidationException"/> naming the customer. The query reads the table once; PostgreSQL groups the
/// rows by customer and day and then by customer, spilling to disk when they do not fit in <c>work_mem</c>.
/// </remarks>
public sealed class PostgreSqlRfmSummary
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlTransactionTable _table;
    private readonly int _commandTimeoutSeconds;

    /// <summary>Creates the summary over a table.</summary>
    /// <param name="dataSource">The database (the host's data source; not disposed here).</param>
    /// <param name="table">The transactions table.</param>
    /// <param name="commandTimeout">How long the query may run; <see langword="null"/> for 30 minutes (a summary of a hundred million rows takes minutes).</param>
    /// <exception cref="EngagementValidationException">The timeout is not positive.</exception>
    public PostgreSqlRfmSummary(NpgsqlDataSource dataSource, PostgreSqlTransactionTable table, TimeSpan? commandTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        var timeout = commandTimeout ?? TimeSpan.FromMinutes(30);
        if (timeout <= TimeSpan.Zero || timeout.TotalSeconds > int.MaxValue)
        {
            throw new EngagementValidationException(nameof(commandTimeout), timeout, "must be positive");
        }

        _dataSource = dataSource;
        _table = table;
        _commandTimeoutSeconds = (int)Math.Ceiling(timeout.TotalSeconds);
    }

    /// <summary>Streams one summary per customer, in no particular order, as PostgreSQL produces them.</summary>
    /// <param name="calibrationEnd">The inclusive end of the calibration period.</param>
    /// <param name="holdoutEnd">The inclusive end of the holdout period, or <see langword="null"/>.</param>
    /// <param name="unit">The time unit of tₓ and T.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The customers.</returns>
    /// <exception cref="EngagementValidationException">The holdout ends before the calibration, or a customer has a negative amount.</exception>
    public async IAsyncEnumerable<CustomerRfm> ReadCustomersAsync(DateOnly calibrationEnd, DateOnly? holdoutEnd = null, TimeUnit unit = TimeUnit.Weeks, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        CheckPeriods(calibrationEnd, holdoutEnd);
        var sql = CustomersSql() + " HAVING first_day <= @calibration_end";
        await using var command = Command(sql, calibrationEnd, holdoutEnd ?? calibrationEnd);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        command.Connection = connection;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetString(0);
            if (reader.GetBoolean(7))
            {
                throw NegativeAmount(id);
            }

            var first = reader.GetFieldValue<DateOnly>(1);
            var x = reader.GetInt32(2);
            yield return new CustomerRfm(
                id,
                x,
                x == 0 ? 0 : Convert(reader.GetInt32(3), unit),
                Convert(reader.GetInt32(4), unit),
                x == 0 ? 0 : reader.GetDecimal(6) / x,
                holdoutEnd is null ? 0 : reader.GetInt32(5),
                first);
        }
    }

    /// <summary>
    /// The model input for the transaction models: the distinct (x, tₓ, T) rows with the number of customers of each, grouped
    /// inside PostgreSQL. Its size grows with the distinct histories (bounded by the calendar), not with the customers.
    /// </summary>
    /// <param name="calibrationEnd">The inclusive end of the calibration period.</param>
    /// <param name="unit">The time unit of tₓ and T.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The weighted rows.</returns>
    /// <exception cref="EngagementValidationException">A customer has a negative amount.</exception>
    public async Task<RfmData> ReadModelDataAsync(DateOnly calibrationEnd, TimeUnit unit = TimeUnit.Weeks, CancellationToken cancellationToken = default)
    {
        var sql = $"SELECT x, tx_days, t_days, count(*)::float8, bool_or(negative), min(customer_id) FILTER (WHERE negative) FROM ({CustomersSql()} HAVING first_day <= @calibration_end) customers GROUP BY x, tx_days, t_days";
        var rows = new List<(double, double, double, double)>();
        await using var command = Command(sql, calibrationEnd, calibrationEnd);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        command.Connection = connection;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetBoolean(4))
            {
                throw NegativeAmount(reader.GetString(5));
            }

            var x = reader.GetInt32(0);
            rows.Add((x, x == 0 ? 0 : Convert(reader.GetInt32(1), unit), Convert(reader.GetInt32(2), unit), reader.GetDouble(3)));
        }

        return RfmData.Create(rows);
    }

    /// <summary>
    /// The model input for Gamma-Gamma: the repeat buyers' distinct (x, mean repeat spend) with the number of customers of
    /// each, for those whose repeat spend is positive (as the spend model requires), grouped inside PostgreSQL.
    /// </summary>
    /// <param name="calibrationEnd">The inclusive end of the calibration period.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The weighted rows, ready for <see cref="GammaGammaModel.Fit(IReadOnlyList{ValueTuple{int, double, double}}, ClvFitOptions)"/>.</returns>
    /// <exception cref="EngagementValidationException">A customer has a negative amount.</exception>
    public async Task<IReadOnlyList<(int Frequency, double MeanSpend, double Weight)>> ReadSpendDataAsync(DateOnly calibrationEnd, CancellationToken cancellationToken = default)
    {
        var sql = $"SELECT x, repeat_spend, count(*)::float8, bool_or(negative), min(customer_id) FILTER (WHERE negative) FROM ({CustomersSql()} HAVING first_day <= @calibration_end) customers WHERE x > 0 AND (repeat_spend > 0 OR negative) GROUP BY x, repeat_spend";
        var rows = new List<(int, double, double)>();
        await using var command = Command(sql, calibrationEnd, calibrationEnd);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        command.Connection = connection;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetBoolean(3))
            {
                throw NegativeAmount(reader.GetString(4));
            }

            var x = reader.GetInt32(0);
            rows.Add((x, (double)(reader.GetDecimal(1) / x), reader.GetDouble(2)));
        }

        return rows;
    }

    private static void CheckPeriods(DateOnly calibrationEnd, DateOnly? holdoutEnd)
    {
        if (holdoutEnd is { } h && h <= calibrationEnd)
        {
            throw new EngagementValidationException("holdoutEnd", h.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "must be later than the calibration end");
        }
    }

    private EngagementValidationException NegativeAmount(string customer)
        => new(_table.AmountColumn, customer, $"customer '{customer}' has a negative amount: net refunds out against their orders before summarising");

    /// <summary>
    /// The per-customer summary without its HAVING clause: purchases grouped by customer and day (rows up to @period_end),
    /// each day marked with the customer's first day, then grouped by customer. Columns: customer_id, first_day, x,
    /// tx_days, t_days, holdout, repeat_spend, negative.
    /// </summary>
    private string CustomersSql()
    {
        var customer = PostgreSqlTransactionTable.Quote(_table.CustomerIdColumn);
        var date = PostgreSqlTransactionTable.Quote(_table.DateColumn);
        var amount = PostgreSqlTransactionTable.Quote(_table.AmountColumn);
        return $"""
            SELECT customer_id,
                   first_day,
                   (count(*) FILTER (WHERE day <= @calibration_end) - 1)::int AS x,
                   (max(day) FILTER (WHERE day <= @calibration_end) - first_day)::int AS tx_days,
                   (@calibration_end - first_day)::int AS t_days,
                   (count(*) FILTER (WHERE day > @calibration_end))::int AS holdout,
                   coalesce(sum(amount) FILTER (WHERE day <= @calibration_end AND day > first_day), 0) AS repeat_spend,
                   bool_or(negative) AS negative
            FROM (
                SELECT customer_id, day, amount, negative, min(day) OVER (PARTITION BY customer_id) AS first_day
                FROM (
                    SELECT {customer}::text AS customer_id, {date}::date AS day, sum({amount})::numeric AS amount, bool_or({amount} < 0) AS negative
                    FROM {_table.QuotedTable}
                    WHERE {customer} IS NOT NULL AND {date} IS NOT NULL AND {amount} IS NOT NULL AND {date}::date <= @period_end
                    GROUP BY 1, 2
                ) days
            ) marked
            GROUP BY customer_id, first_day
            """;
    }

    private NpgsqlCommand Command(string sql, DateOnly calibrationEnd, DateOnly periodEnd)
    {
        var command = new NpgsqlCommand(sql) { CommandTimeout = _commandTimeoutSeconds };
        command.Parameters.Add(new NpgsqlParameter<DateOnly>("calibration_end", NpgsqlDbType.Date) { TypedValue = calibrationEnd });
        command.Parameters.Add(new NpgsqlParameter<DateOnly>("period_end", NpgsqlDbType.Date) { TypedValue = periodEnd });
        return command;
    }

    private static double Convert(int days, TimeUnit unit) => unit == TimeUnit.Weeks ? days / 7.0 : days;
}
