using System.Globalization;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>A problem in an input file, with the line it is on.</summary>
/// <param name="line">The 1-based line number.</param>
/// <param name="message">What is wrong.</param>
public sealed class InputException(int line, string message) : Exception($"line {line}: {message}")
{
    /// <summary>The 1-based line number.</summary>
    public int Line { get; } = line;
}

/// <summary>Reads transactions from CSV (<c>customer_id,date,amount</c>, ISO dates) or the CDNOW text format.</summary>
public static class TransactionFile
{
    /// <summary>Reads a file, detecting its format unless one is given.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format"><c>csv</c>, <c>cdnow</c>, or <see langword="null"/> to detect.</param>
    /// <returns>The transactions.</returns>
    /// <exception cref="InputException">A line is malformed.</exception>
    public static List<Transaction> Read(string path, string? format)
    {
        var lines = File.ReadAllLines(path);
        var firstLine = Array.FindIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        if (firstLine < 0)
        {
            throw new InputException(1, "the file is empty: expected a header 'customer_id,date,amount' or CDNOW rows");
        }

        format ??= lines[firstLine].Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: 5 } f && f[2].Length == 8 && f[2].All(char.IsAsciiDigit) ? "cdnow" : "csv";
        return format switch
        {
            "cdnow" => ReadCdnow(lines),
            "csv" => ReadCsv(lines, firstLine),
            _ => throw new InputException(0, $"unknown format '{format}': use csv or cdnow"),
        };
    }

    private static List<Transaction> ReadCdnow(string[] lines)
    {
        var result = new List<Transaction>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var f = lines[i].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 5)
            {
                throw new InputException(i + 1, $"expected 5 fields (customer, sample id, yyyymmdd, quantity, amount), found {f.Length}");
            }

            if (!DateOnly.TryParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                throw new InputException(i + 1, $"'{f[2]}' is not a date in yyyymmdd form");
            }

            result.Add(new Transaction(f[0], date, Amount(f[4], i + 1)));
        }

        return result;
    }

    private static List<Transaction> ReadCsv(string[] lines, int headerLine)
    {
        var header = lines[headerLine].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
        if (header is not ["customer_id", "date", "amount"])
        {
            throw new InputException(headerLine + 1, $"expected the header 'customer_id,date,amount', found '{lines[headerLine]}'");
        }

        var result = new List<Transaction>(lines.Length);
        for (var i = headerLine + 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var f = lines[i].Split(',');
            if (f.Length != 3)
            {
                throw new InputException(i + 1, $"expected 3 comma-separated fields, found {f.Length}");
            }

            var customer = f[0].Trim();
            if (customer.Length == 0)
            {
                throw new InputException(i + 1, "the customer id is empty");
            }

            if (!DateOnly.TryParseExact(f[1].Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                throw new InputException(i + 1, $"'{f[1].Trim()}' is not an ISO date (yyyy-mm-dd)");
            }

            result.Add(new Transaction(customer, date, Amount(f[2].Trim(), i + 1)));
        }

        if (result.Count == 0)
        {
            throw new InputException(headerLine + 1, "the file has a header but no transactions");
        }

        return result;
    }

    private static decimal Amount(string text, int line)
    {
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
}
