using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StrategySimulator;

/// <summary>
/// The seeds' experiment: a simulated population run twice with the same message budget, once with the four-stage journey
/// programme (reminders and win-backs sent when the journey says, through next-best-action and the permission gate) and once
/// with a weekly mass mailing (batch and blast), reported side by side with the uplift in profit and its interval, and drawn
/// as an SVG chart of cumulative profit. The same seed always gives the same report.
/// </summary>
public static class StrategySimulatorApp
{
    private const string Usage = "Usage: StrategySimulator [--customers N] [--days D] [--seed S] [--json]";
    private const string ChartFile = "strategy.svg";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the simulation.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="directory">Where the chart (<c>strategy.svg</c>) is written.</param>
    /// <returns>0 on success (and for <c>--help</c>), 2 for bad arguments.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, string directory)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        int customers = 2000, days = 365;
        ulong seed = 42;
        var json = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--customers": customers = Number(Next(), "--customers", 1, 1_000_000); break;
                    case "--days": days = Number(Next(), "--days", 7, 3650); break;
                    case "--seed": seed = ulong.TryParse(Next(), NumberStyles.None, Inv, out var s) ? s : throw new ArgumentException($"--seed must be a whole number, not '{args[i]}'"); break;
                    case "--json": json = true; break;
                    case "--help" or "-h":
                        await stdout.WriteLineAsync(Usage).ConfigureAwait(false);
                        return 0;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            catch (ArgumentException ex)
            {
                await stderr.WriteLineAsync(ex.Message).ConfigureAwait(false);
                await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
                return 2;
            }
        }

        var population = new Population(customers, days, seed);
        var journey = await new StrategyRun(population, days).RunAsync(journey: true, budget: 0).ConfigureAwait(false);
        var baseline = await new StrategyRun(population, days).RunAsync(journey: false, budget: journey.Messages).ConfigureAwait(false);
        var uplift = Uplift(journey.CustomerProfit, baseline.CustomerProfit);
        var chart = Path.Combine(directory, ChartFile);
        await File.WriteAllTextAsync(chart, StrategyChart.Svg(journey, baseline, customers, days, seed)).ConfigureAwait(false);

        if (json)
        {
            var document = new SimulationDocument([Arm(journey), Arm(baseline)], new UpliftDocument(uplift.Total, uplift.Low, uplift.High));
            await stdout.WriteLineAsync(JsonSerializer.Serialize(document, SimulationJson.Default.SimulationDocument)).ConfigureAwait(false);
            return 0;
        }

        await stdout.WriteLineAsync(string.Create(Inv, $"Strategy simulator: {customers:N0} simulated customers over {days:N0} days (seed {seed}); margin {ResponseModel.Margin:P0}, a message costs {ResponseModel.MessageCost:0.00} EUR")).ConfigureAwait(false);
        await stdout.WriteLineAsync("Same population, same message budget: the four-stage journey programme against a weekly mass mailing.").ConfigureAwait(false);
        await stdout.WriteLineAsync().ConfigureAwait(false);
        await stdout.WriteLineAsync(string.Create(Inv, $"  {"",-12} {"journey",12} {"baseline",12}")).ConfigureAwait(false);
        await Row("customers", journey.Customers, baseline.Customers).ConfigureAwait(false);
        await Row("buyers", journey.Buyers, baseline.Buyers).ConfigureAwait(false);
        await Row("purchases", journey.Purchases, baseline.Purchases).ConfigureAwait(false);
        await Row("revenue", journey.Revenue, baseline.Revenue).ConfigureAwait(false);
        await Row("ARPU", journey.Arpu, baseline.Arpu).ConfigureAwait(false);
        await Row("CLV", journey.Clv, baseline.Clv).ConfigureAwait(false);
        await Row("messages", journey.Messages, baseline.Messages).ConfigureAwait(false);
        await Row("profit", journey.Profit, baseline.Profit).ConfigureAwait(false);
        await stdout.WriteLineAsync().ConfigureAwait(false);
        await stdout.WriteLineAsync(string.Create(Inv, $"Uplift in profit (journey − baseline): {uplift.Total:N2} EUR, 95 % interval [{uplift.Low:N2}, {uplift.High:N2}] (paired by customer)")).ConfigureAwait(false);
        await stdout.WriteLineAsync($"CLV: margin earned plus the expected margin of the next 12 months of the customers still active (the simulation's own model).").ConfigureAwait(false);
        await stdout.WriteLineAsync($"Chart: {chart}").ConfigureAwait(false);
        return 0;

        Task Row<T>(string name, T a, T b) where T : IFormattable
            => stdout.WriteLineAsync(string.Create(Inv, $"  {name,-12} {a.ToString(typeof(T) == typeof(int) ? "N0" : "N2", Inv),12} {b.ToString(typeof(T) == typeof(int) ? "N0" : "N2", Inv),12}"));
    }

    /// <summary>The total profit difference over customers (paired: the same customers in both runs) with a normal 95 % interval.</summary>
    internal static (double Total, double Low, double High) Uplift(IReadOnlyList<decimal> journey, IReadOnlyList<decimal> baseline)
    {
        var n = journey.Count;
        var differences = journey.Zip(baseline, (a, b) => (double)(a - b)).ToArray();
        var mean = differences.Average();
        var variance = n > 1 ? differences.Sum(d => (d - mean) * (d - mean)) / (n - 1) : 0;
        var half = 1.959963984540054 * Math.Sqrt(variance / n) * n;
        var total = mean * n;
        return (Math.Round(total, 2), Math.Round(total - half, 2), Math.Round(total + half, 2));
    }

    private static ArmDocument Arm(ArmResult a) => new(a.Name, a.Customers, a.Buyers, a.Purchases, a.Revenue, a.Arpu, a.Clv, a.Messages, a.Profit);

    private static int Number(string text, string name, int min, int max)
        => int.TryParse(text, NumberStyles.None, Inv, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{name} must be a whole number from {min.ToString("N0", Inv)} to {max.ToString("N0", Inv)}, not '{text}'");
}

/// <summary>The JSON report.</summary>
/// <param name="Arms">The two strategies.</param>
/// <param name="Uplift">Journey against baseline.</param>
internal sealed record SimulationDocument(IReadOnlyList<ArmDocument> Arms, UpliftDocument Uplift);

/// <summary>One strategy in the JSON report.</summary>
internal sealed record ArmDocument(string Name, int Customers, int Buyers, int Purchases, decimal Revenue, decimal Arpu, decimal Clv, int Messages, decimal Profit);

/// <summary>The uplift in profit with its 95 % interval.</summary>
internal sealed record UpliftDocument(double Profit, double CiLow, double CiHigh);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SimulationDocument))]
internal sealed partial class SimulationJson : JsonSerializerContext
{
}
