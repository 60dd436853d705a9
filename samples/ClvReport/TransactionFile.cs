using System.Globalization;
using Engagement.Sdk.Value.Clv;
using nietras.SeparatedValues;

namespace ClvReport;

/// <summary>A problem in an input file, with the line it is on.</summary>
/// <param name="line">The 1-based line number (0 when the problem is not on one line).</param>
/// <param name="message">What is wrong.</param>
public sealed class InputException(int line, string message) : Exception(line > 0 ? $"line {line}: {message}" : message)
{
    /// <summary>The 1-based line number (0 when the problem is not on one line).</summary>
    public int Line { get; } = line;
}

/// <summary>Which columns of a CSV export hold what; the names are matched ignoring case.</summary>
/// <param name="Customer">The customer id column.</param>
/// <param name="Date">The date column: an ISO date (<c>yyyy-mm-dd</c>), or an ISO date and time whose date is taken, or the <see cref="DateFormat"/>.</param>
/// <param name="Amount">The amount column (invariant culture: <c>.</c> for decimals).</param>
/// <param name="OrderId">The order id column, or <see langword="null"/>: with it, rows repeating an order id already read are counted once.</param>
/// <param name="DateFormat">A .NET date format for the date column, or <see langword="null"/> for ISO dates.</param>
/// <param name="Separator">The field separator, or <see langword="null"/> to detect it from the header.</param>
public sealed record CsvColumns(string Customer = "customer_id", string Date = "date", string Amount = "amount", string? OrderId = null, string? DateFormat = null, char? Separator = null);

/// <summary>The transactions read from a file, with what was left out and why.</summary>
/// <param name="Transactions">The transactions.</param>
/// <param name="Rows">The data rows read.</param>
/// <param name="DuplicateOrders">Rows whose order id had been read before, counted once (0 without an order id column).</param>
/// <param name="ConflictingDuplicates">Of those, rows that differ from the first row of their order (customer, day or amount): a sign that the file has one row per order line, not per order.</param>
/// <param name="Format">The format read: <c>csv</c> or <c>cdnow</c>.</param>
public sealed record TransactionInput(Transaction[] Transactions, long Rows, long DuplicateOrders, long ConflictingDuplicates, string Format);

/// <summary>
/// Reads transactions from a CSV export (RFC 4180: quoted fields, separators and quotes inside quotes, extra columns ignored,
/// the columns found by their header names) or from the CDNOW text format (whitespace separated: customer, sample id,
/// yyyymmdd, quantity, amount).
/// </summary>
public static class TransactionFile
{
    /// <summary>Reads a file, detecting its format unless one is given.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format"><c>csv</c>, <c>cdnow</c>, or <see langword="null"/> to detect.</param>
    /// <param name="columns">The CSV column names (ignored for CDNOW).</param>
    /// <param name="progress">Told the number of rows read now and then, or <see langword="null"/>.</param>
    /// <returns>The transactions.</returns>
    /// <exception cref="InputException">A line is malformed, or a column is missing.</exception>
    public static TransactionInput Read(string path, string? format, CsvColumns? columns = null, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        columns ??= new CsvColumns();
        var firstLine = FirstNonBlankLine(path);
        if (firstLine is null)
        {
            throw new InputException(1, $"the file is empty: expected a header naming the columns {columns.Customer}, {columns.Date} and {columns.Amount}, or CDNOW rows");
        }

        format ??= LooksLikeCdnow(firstLine) ? "cdnow" : "csv";
        return format switch
        {
            "cdnow" => ReadCdnow(path, progress),
            "csv" => ReadCsv(path, columns, progress),
            _ => throw new InputException(0, $"unknown format '{format}': use csv or cdnow"),
        };
    }

    private static string? FirstNonBlankLine(string path)
    {
        using var reader = new StreamReader(path);
        while (reader.ReadLine() is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                return line;
            }
        }

        return null;
    }

    private static bool LooksLikeCdnow(string line)
        => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries) is { Length: 5 } f && f[2].Length == 8 && f[2].All(char.IsAsciiDigit);

    private static TransactionInput ReadCdnow(string path, Action<long>? progress)
    {
        var result = new List<Transaction>();
        var ids = new IdPool();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 5)
            {
                throw new InputException(lineNumber, $"expected 5 fields (customer, sample id, yyyymmdd, quantity, amount), found {f.Length}");
            }

            if (!DateOnly.TryParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                throw new InputException(lineNumber, $"'{f[2]}' is not a date in yyyymmdd form");
            }

            result.Add(new Transaction(ids.Get(f[0]), date, Amount(f[4], lineNumber)));
            if ((result.Count & 0xFFFFF) == 0)
            {
                progress?.Invoke(result.Count);
            }
        }

        return new TransactionInput([.. result], result.Count, 0, 0, "cdnow");
    }

    private static TransactionInput ReadCsv(string path, CsvColumns columns, Action<long>? progress)
    {
        var options = new SepReaderOptions(columns.Separator is { } s ? new Sep(s) : null)
        {
            HasHeader = true,
            Unescape = true,
            ColNameComparer = StringComparer.OrdinalIgnoreCase,

            // One string per distinct customer id (a hash pool per column), so a customer's many rows share it.
            CreateToString = SepToString.PoolPerCol(maximumStringLength: 128),
        };
        using var reader = options.FromFile(path);
        var header = reader.Header;
        var names = string.Join(", ", header.ColNames);
        int Column(string name, string option)
            => header.TryIndexOf(name, out var index)
                ? index
                : throw new InputException(1, $"no column '{name}' ({option}) in the header; the columns are: {names}");

        var customerColumn = Column(columns.Customer, "--customer-column");
        var dateColumn = Column(columns.Date, "--date-column");
        var amountColumn = Column(columns.Amount, "--amount-column");
        var orderColumn = columns.OrderId is { } orderId ? Column(orderId, "--order-id") : -1;
        var orders = orderColumn >= 0 ? new Dictionary<string, int>(StringComparer.Ordinal) : null;
        var orderLookup = orders?.GetAlternateLookup<ReadOnlySpan<char>>();
        var result = new List<Transaction>();
        long rows = 0, duplicates = 0, conflicting = 0;
        try
        {
            foreach (var row in reader)
            {
                rows++;
                var line = row.LineNumberFrom;
                var id = row[customerColumn];
                if (id.Span.IsWhiteSpace())
                {
                    throw new InputException(line, $"the customer id ({columns.Customer}) is empty");
                }

                var date = Date(row[dateColumn].Span.Trim(), columns.DateFormat, line, columns.Date);
                var amount = Amount(row[amountColumn].Span.Trim(), line);
                var customer = id.Span.Length == id.Span.Trim().Length ? id.ToString() : id.Span.Trim().ToString();
                if (orderLookup is { } lookup)
                {
                    var order = row[orderColumn].Span.Trim();
                    if (order.IsEmpty)
                    {
                        throw new InputException(line, $"the order id ({columns.OrderId}) is empty");
                    }

                    if (lookup.TryGetValue(order, out var first))
                    {
                        duplicates++;
                        if (result[first] != new Transaction(customer, date, amount))
                        {
                            conflicting++;
                        }

                        continue;
                    }

                    lookup[order] = result.Count;
                }

                result.Add(new Transaction(customer, date, amount));
                if ((rows & 0xFFFFF) == 0)
                {
                    progress?.Invoke(rows);
                }
            }
        }
        catch (InvalidDataException ex)
        {
            // Sep reports a row with fewer or more fields than the header, or an unterminated quote, this way.
            throw new InputException(0, ex.Message);
        }

        if (result.Count == 0)
        {
            throw new InputException(1, "the file has a header but no transactions");
        }

        return new TransactionInput([.. result], rows, duplicates, conflicting, "csv");
    }

    private static DateOnly Date(ReadOnlySpan<char> text, string? format, int line, string column)
    {
        if (format is not null)
        {
            if (DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var custom))
            {
                return DateOnly.FromDateTime(custom);
            }

            throw new InputException(line, $"'{text}' ({column}) is not a date in the form {format}");
        }

        if (IsoDate(text, out var date))
        {
            return date;
        }

        // An ISO date and time (2025-01-31T14:05:00, with or without an offset): the calendar date as written.
        if (text.Length > 10 && (text[10] == 'T' || text[10] == ' ')
            && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
        {
            return date;
        }

        throw new InputException(line, $"'{text}' ({column}) is not an ISO date (yyyy-mm-dd) or date and time; give --date-format for other forms");
    }

    /// <summary>yyyy-mm-dd, read digit by digit (the general parser costs more than the rest of a row).</summary>
    private static bool IsoDate(ReadOnlySpan<char> text, out DateOnly date)
    {
        date = default;
        if (text.Length != 10 || text[4] != '-' || text[7] != '-')
        {
            return false;
        }

        var year = Digits(text[..4]);
        var month = Digits(text.Slice(5, 2));
        var day = Digits(text.Slice(8, 2));
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        date = new DateOnly(year, month, day);
        return true;

        static int Digits(ReadOnlySpan<char> digits)
        {
            var value = 0;
            foreach (var c in digits)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return -1;
                }

                value = (value * 10) + (c - '0');
            }

            return value;
        }
    }

    /// <summary>An amount: plain digits with an optional '.' and up to 18 digits in all are read directly; anything else by <see cref="decimal.TryParse(ReadOnlySpan{char}, NumberStyles, IFormatProvider?, out decimal)"/>.</summary>
    private static decimal Amount(ReadOnlySpan<char> text, int line)
    {
        if (SimpleAmount(text) is { } simple)
        {
            return simple;
        }

        if (!decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var amount))
        {
            throw new InputException(line, $"'{text}' is not an amount");
        }

        if (amount < 0)
        {
            throw new InputException(line, $"the amount {text} is negative: net refunds out against their orders before the analysis");
        }

        return amount;
    }

    private static decimal? SimpleAmount(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || text.Length > 19)
        {
            return null;
        }

        long mantissa = 0;
        byte scale = 0;
        var point = false;
        var digits = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                mantissa = (mantissa * 10) + (c - '0');
                digits++;
                if (point)
                {
                    scale++;
                }
            }
            else if (c == '.' && !point)
            {
                point = true;
            }
            else
            {
                return null;
            }
        }

        return digits == 0 ? null : new decimal((int)(mantissa & 0xFFFFFFFF), (int)(mantissa >> 32), 0, false, scale);
    }

    /// <summary>One string per distinct customer id, so a customer's many rows share it.</summary>
    private sealed class IdPool
    {
        private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

        public string Get(ReadOnlySpan<char> id)
        {
            var lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(id, out var existing))
            {
                return existing;
            }

            var text = id.ToString();
            _ids.Add(text);
            return text;
        }
    }
}
