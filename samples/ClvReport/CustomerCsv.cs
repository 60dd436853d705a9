using System.Globalization;
using System.Text;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>One column group of the per-customer file: a fitted model's predictions and, with a spend model, its CLV.</summary>
/// <param name="Run">The model run.</param>
/// <param name="Clv">CLV per customer (margin × expected spend × DERT), or <see langword="null"/> without a spend model or DERT.</param>
/// <param name="Intervals">The model's interval bounds (<c>--intervals</c>), or <see cref="ModelIntervals.None"/>.</param>
internal sealed record CustomerColumns(ModelRun Run, double[]? Clv, ModelIntervals Intervals);

/// <summary>
/// Writes the per-customer file: <c>customer_id,x,t_x,T</c>, then per model <c>&lt;model&gt;.pAlive</c>,
/// <c>&lt;model&gt;.expected</c>, <c>&lt;model&gt;.dert</c> and <c>&lt;model&gt;.clv</c> (the last two where available), interval
/// columns when asked, and <c>spend.expected</c> with a spend model. RFC 4180: ids with a comma, quote or line break are quoted.
/// </summary>
internal static class CustomerCsv
{
    public static void Write(string path, RfmSummary summary, Histories histories, IReadOnlyList<CustomerColumns> models, double[]? expectedSpend, SpendIntervals? spendIntervals)
    {
        var spendBounds = spendIntervals is { Error: null } ? spendIntervals : null;
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

            foreach (var column in m.Intervals.Columns)
            {
                header.Append(CultureInfo.InvariantCulture, $",{name}.{column.Suffix}");
            }
        }

        if (expectedSpend is not null)
        {
            header.Append(",spend.expected");
            if (spendBounds is not null)
            {
                header.Append(",spend.expected.lower,spend.expected.upper");
            }
        }

        writer.WriteLine(header);
        writer.Flush();

        // Number formatting is most of the cost. What depends on the history only (x, tₓ, T and each model's P(alive),
        // expected transactions and DERT) is formatted once per distinct history; blocks of customers are then formatted and
        // encoded in parallel and written in order.
        var parts = HistoryParts(histories, models);
        var customers = summary.Customers;
        var blocks = (customers.Length + BlockSize - 1) / BlockSize;
        var batch = Math.Max(1, Environment.ProcessorCount * 2);
        var encoded = new byte[batch][];
        var lengths = new int[batch];
        for (var first = 0; first < blocks; first += batch)
        {
            var count = Math.Min(batch, blocks - first);
            ModelRuns.ParallelFor(count, b =>
            {
                var line = new Line();
                var from = (first + b) * BlockSize;
                var to = Math.Min(customers.Length, from + BlockSize);
                for (var i = from; i < to; i++)
                {
                    Format(line, customers[i], i, histories.RowOf[i], models, parts, expectedSpend, spendBounds);
                }

                var bytes = encoded[b];
                var needed = Encoding.UTF8.GetMaxByteCount(line.Text.Length);
                if (bytes is null || bytes.Length < needed)
                {
                    bytes = encoded[b] = new byte[needed];
                }

                lengths[b] = Encoding.UTF8.GetBytes(line.Text, bytes);
            }, chunk: 1);
            for (var b = 0; b < count; b++)
            {
                writer.BaseStream.Write(encoded[b], 0, lengths[b]);
            }
        }
    }

    private const int BlockSize = 8_192;

    /// <summary>
    /// The text of the columns that depend on the history only, per distinct history: [0] is <c>,x,t_x,T</c>, [1 + m] model m's
    /// <c>,pAlive,expected[,dert]</c>.
    /// </summary>
    private static string[][] HistoryParts(Histories histories, IReadOnlyList<CustomerColumns> models)
    {
        var parts = new string[1 + models.Count][];
        for (var k = 0; k < parts.Length; k++)
        {
            parts[k] = new string[histories.Count];
        }

        ModelRuns.ParallelFor(histories.Count, h =>
        {
            var line = new Line();
            line.Number(histories.X[h]);
            line.Number(histories.Tx[h]);
            line.Number(histories.T[h]);
            parts[0][h] = line.Text.ToString();
            for (var m = 0; m < models.Count; m++)
            {
                var p = models[m].Run.Predictions!;
                line.Clear();
                line.Number(p.PAlive[h]);
                line.Number(p.Expected[h]);
                if (p.Dert is { } dert)
                {
                    line.Number(dert[h]);
                }

                parts[1 + m][h] = line.Text.ToString();
            }
        }, chunk: 1024);
        return parts;
    }

    /// <summary>Appends one customer's line to <paramref name="line"/>.</summary>
    private static void Format(Line line, CustomerRfm c, int i, int row, IReadOnlyList<CustomerColumns> models, string[][] parts, double[]? expectedSpend, SpendIntervals? spendBounds)
    {
        line.Id(c.CustomerId);
        line.Append(parts[0][row]);
        for (var k = 0; k < models.Count; k++)
        {
            var m = models[k];
            line.Append(parts[1 + k][row]);
            if (m.Clv is { } clv)
            {
                line.Number(clv[i]);
            }

            foreach (var column in m.Intervals.Columns)
            {
                line.Number(column[i]);
            }
        }

        if (expectedSpend is not null)
        {
            line.Number(expectedSpend[i]);
            if (spendBounds is not null)
            {
                line.Number(spendBounds.Lower[i]);
                line.Number(spendBounds.Upper[i]);
            }
        }

        line.End();
    }

    /// <summary>One line, built in a reused buffer and written at once.</summary>
    private sealed class Line
    {
        private char[] _buffer = new char[1024];
        private int _length;

        public ReadOnlySpan<char> Text => _buffer.AsSpan(0, _length);

        public void Clear() => _length = 0;

        public void End() => Append("\n");

        /// <summary>The id, quoted when it holds a comma, quote or line break (RFC 4180).</summary>
        public void Id(string id)
        {
            if (id.AsSpan().IndexOfAny(",\"\r\n") < 0)
            {
                Append(id);
                return;
            }

            Append("\"");
            Append(id.Replace("\"", "\"\"", StringComparison.Ordinal));
            Append("\"");
        }

        /// <summary>A comma, then the number in invariant form with up to ten significant digits; empty when it is not finite.</summary>
        public void Number(double value)
        {
            Append(",");
            if (!double.IsFinite(value))
            {
                return;
            }

            Reserve(32);
            value.TryFormat(_buffer.AsSpan(_length), out var written, "G10", CultureInfo.InvariantCulture);
            _length += written;
        }

        public void Append(ReadOnlySpan<char> text)
        {
            Reserve(text.Length);
            text.CopyTo(_buffer.AsSpan(_length));
            _length += text.Length;
        }

        private void Reserve(int count)
        {
            if (_length + count > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
            }
        }
    }
}
