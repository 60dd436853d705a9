using System.Globalization;
using System.Text;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>One column group of the per-customer file: a fitted model's predictions and, with a spend model, its CLV.</summary>
/// <param name="Run">The model run.</param>
/// <param name="Clv">CLV per customer (margin × expected spend × DERT), or <see langword="null"/> without a spend model or DERT.</param>
/// <param name="Intervals">Per-customer interval bounds, as (column suffix, values) pairs, or empty.</param>
internal sealed record CustomerColumns(ModelRun Run, double[]? Clv, IReadOnlyList<(string Suffix, double[] Values)> Intervals);

/// <summary>
/// Writes the per-customer file: <c>customer_id,x,t_x,T</c>, then per model <c>&lt;model&gt;.pAlive</c>,
/// <c>&lt;model&gt;.expected</c>, <c>&lt;model&gt;.dert</c> and <c>&lt;model&gt;.clv</c> (the last two where available), interval
/// columns when asked, and <c>spend.expected</c> with a spend model. RFC 4180: ids with a comma, quote or line break are quoted.
/// </summary>
internal static class CustomerCsv
{
    public static void Write(string path, RfmSummary summary, Histories histories, IReadOnlyList<CustomerColumns> models, double[]? expectedSpend)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
        var header = new StringBuilder("customer_id,x,t_x,T");
        foreach (var m in models)
        {
            var name = m.Run.Name;
            header.Append(CultureInfo.InvariantCulture, $",{name}.pAlive,{name}.expected");
            if (m.Run.Predictions!.Dert is not null)
            {
                header.Append(CultureInfo.InvariantCulture, $",{name}.dert");
            }

            if (m.Clv is not null)
            {
                header.Append(CultureInfo.InvariantCulture, $",{name}.clv");
            }

            foreach (var (suffix, _) in m.Intervals)
            {
                header.Append(CultureInfo.InvariantCulture, $",{name}.{suffix}");
            }
        }

        if (expectedSpend is not null)
        {
            header.Append(",spend.expected");
        }

        writer.WriteLine(header);
        Span<char> buffer = stackalloc char[32];
        var customers = summary.Customers;
        for (var i = 0; i < customers.Length; i++)
        {
            var c = customers[i];
            WriteId(writer, c.CustomerId);
            Number(writer, c.Frequency, buffer);
            Number(writer, c.Recency, buffer);
            Number(writer, c.Age, buffer);
            var row = histories.RowOf[i];
            foreach (var m in models)
            {
                var p = m.Run.Predictions!;
                Number(writer, p.PAlive[row], buffer);
                Number(writer, p.Expected[row], buffer);
                if (p.Dert is { } dert)
                {
                    Number(writer, dert[row], buffer);
                }

                if (m.Clv is { } clv)
                {
                    Number(writer, clv[i], buffer);
                }

                foreach (var (_, values) in m.Intervals)
                {
                    Number(writer, values[i], buffer);
                }
            }

            if (expectedSpend is not null)
            {
                Number(writer, expectedSpend[i], buffer);
            }

            writer.Write('\n');
        }
    }

    private static void WriteId(StreamWriter writer, string id)
    {
        if (id.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            writer.Write(id);
            return;
        }

        writer.Write('"');
        writer.Write(id.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    /// <summary>A comma, then the number in invariant form with up to ten significant digits; empty when it is not finite.</summary>
    private static void Number(StreamWriter writer, double value, Span<char> buffer)
    {
        writer.Write(',');
        if (double.IsFinite(value) && value.TryFormat(buffer, out var written, "G10", CultureInfo.InvariantCulture))
        {
            writer.Write(buffer[..written]);
        }
    }
}
