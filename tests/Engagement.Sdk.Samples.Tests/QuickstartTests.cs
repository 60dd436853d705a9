using Quickstart;

namespace Engagement.Sdk.Samples.Tests;

public sealed class QuickstartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("quickstart-tests-").FullName;

    [Fact]
    public async Task RunAsync_SmallShop_PrintsEverySectionOfTheReport()
    {
        var output = await RunAsync("a.db");

        output.Should().Contain("Journey 'lifecycle': customers per stage")
            .And.Contain("attraction").And.Contain("relationship").And.Contain("conversion").And.Contain("engagement")
            .And.Contain("conversion rate").And.Contain("ARPU").And.Contain("ARPPU").And.Contain("AOV")
            .And.Contain("Messages").And.Contain("suppressed (no consent)")
            .And.Contain("Five decisions and their reasons")
            .And.Contain("Ten most valuable customers");
        output.Should().MatchRegex(@"email\s+[1-9][\d,]*\s", "some marketing email is sent to customers who consented");
    }

    [Fact]
    public async Task RunAsync_SameSeedTwice_GivesTheSameReport()
    {
        var first = await RunAsync("first.db");
        var second = await RunAsync("second.db");

        second.Should().Be(first);
    }

    [Fact]
    public async Task RunAsync_ReportedStageCounts_AddUpToTheCustomers()
    {
        var output = await RunAsync("counts.db");

        var stageLines = output.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+(attraction|relationship|conversion|engagement)\s+\d")).ToList();
        stageLines.Should().HaveCount(4);
        var now = stageLines.Sum(l => int.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture));
        now.Should().Be(300);
    }

    [Fact]
    public async Task RunAsync_UnknownArgument_ReturnsUsageError()
    {
        using var writer = new StringWriter();

        var exit = await QuickstartApp.RunAsync(["--bogus"], writer);

        exit.Should().Be(2);
        writer.ToString().Should().Contain("Usage");
    }

    [Fact]
    public async Task ReadmeExample_AddToCartWithEmailConsent_ChoosesTheWelcomeOfferOnEmail()
    {
        var explanation = await ReadmeExample.RunAsync(Path.Combine(_directory, "readme.db"));

        explanation.Should().StartWith("welcome on email");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<string> RunAsync(string database)
    {
        using var writer = new StringWriter();
        var exit = await QuickstartApp.RunAsync(["--customers", "300", "--days", "30", "--database", Path.Combine(_directory, database)], writer);
        exit.Should().Be(0);
        return writer.ToString().Replace(Path.Combine(_directory, database), "DB", StringComparison.Ordinal);
    }
}
