using System.Globalization;
using System.Text.Json;
using StrategySimulator;

namespace Engagement.Sdk.Samples.Tests;

public sealed class StrategySimulatorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("strategy-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Run_Json_PrintsBothArmsWithTheSameBudgetAndTheUpliftWithItsInterval()
    {
        var (exit, stdout, stderr) = await RunAsync("--customers", "300", "--days", "120", "--seed", "7", "--json");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var arms = document.RootElement.GetProperty("arms").EnumerateArray().ToList();
        arms.Select(a => a.GetProperty("name").GetString()).Should().Equal("journey", "baseline");
        foreach (var arm in arms)
        {
            arm.EnumerateObject().Select(p => p.Name).Should().Equal("name", "customers", "buyers", "purchases", "revenue", "arpu", "clv", "messages", "profit");
            arm.GetProperty("customers").GetInt32().Should().Be(300);
            arm.GetProperty("buyers").GetInt32().Should().BeInRange(1, 300);
            arm.GetProperty("purchases").GetInt32().Should().BeGreaterThanOrEqualTo(arm.GetProperty("buyers").GetInt32());
            var revenue = arm.GetProperty("revenue").GetDecimal();
            arm.GetProperty("arpu").GetDecimal().Should().Be(decimal.Round(revenue / 300, 2));
            arm.GetProperty("profit").GetDecimal().Should().BeApproximately((revenue * 0.30m) - (arm.GetProperty("messages").GetInt32() * 0.10m), 0.01m, "profit is margin less message costs (revenue is rounded to cents)");
            arm.GetProperty("clv").GetDecimal().Should().BePositive();
        }

        arms[0].GetProperty("messages").GetInt32().Should().BePositive("the journey sends reminders and win-backs");
        arms[1].GetProperty("messages").GetInt32().Should().Be(arms[0].GetProperty("messages").GetInt32(), "both strategies spend the same budget");
        var uplift = document.RootElement.GetProperty("uplift");
        uplift.EnumerateObject().Select(p => p.Name).Should().Equal("profit", "ciLow", "ciHigh");
        var profit = uplift.GetProperty("profit").GetDouble();
        profit.Should().BeApproximately((double)(arms[0].GetProperty("profit").GetDecimal() - arms[1].GetProperty("profit").GetDecimal()), 0.02);
        uplift.GetProperty("ciLow").GetDouble().Should().BeLessThan(profit);
        uplift.GetProperty("ciHigh").GetDouble().Should().BeGreaterThan(profit);
    }

    [Fact]
    public async Task Run_SameSeedTwice_GivesTheSameReportAndAnotherSeedAnother()
    {
        var first = await RunAsync("--customers", "150", "--days", "60", "--seed", "3", "--json");
        var second = await RunAsync("--customers", "150", "--days", "60", "--seed", "3", "--json");
        var other = await RunAsync("--customers", "150", "--days", "60", "--seed", "4", "--json");

        second.Stdout.Should().Be(first.Stdout);
        other.Stdout.Should().NotBe(first.Stdout);
    }

    [Fact]
    public async Task Run_Text_PrintsTheFiguresSideBySideAndDrawsTheChart()
    {
        var (exit, stdout, _) = await RunAsync("--customers", "150", "--days", "60");

        exit.Should().Be(0);
        foreach (var row in new[] { "customers", "purchases", "revenue", "ARPU", "CLV", "messages", "profit" })
        {
            stdout.Should().MatchRegex($@"\n\s+{row}\s+[\d,.]+\s+[\d,.]+\r?\n");
        }

        stdout.Should().Contain("Uplift in profit").And.Contain("95 % interval");
        var svg = await File.ReadAllTextAsync(Path.Combine(_directory, "strategy.svg"));
        svg.Should().StartWith("<svg").And.Contain("journey").And.Contain("baseline");
        svg.Split("<path").Should().HaveCount(3, "one line per strategy");
    }

    [Theory]
    [InlineData("--customers", "0")]
    [InlineData("--days", "many")]
    [InlineData("--seed", "-1")]
    [InlineData("--budget", "10")]
    public async Task Run_BadArguments_PrintsUsageAndFails(params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        exit.Should().Be(2);
        stderr.Should().Contain("Usage: StrategySimulator");
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var exit = await StrategySimulatorApp.RunAsync(args, stdout, stderr, _directory);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
