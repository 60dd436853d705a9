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
            .And.Contain("Ten most valuable customers")
            .And.MatchRegex(@"stage\s+now\s+reached\s+skipped\s+conversion from previous\s+median time in stage\s+revenue\s*\n─{20,}", "the tables have a rule under their header");
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

        exit.Should().Be(1);
        writer.ToString().Should().Contain("--bogus").And.Contain("Usage:").And.Contain("--db");
    }

    [Theory]
    [InlineData("--customers", "0", "--customers must be a positive whole number")]
    [InlineData("--culture", "xx-nowhere", "'xx-nowhere' is not a culture name")]
    public async Task RunAsync_BadValue_ReturnsAnErrorNamingIt(string option, string value, string error)
    {
        using var writer = new StringWriter();

        var exit = await QuickstartApp.RunAsync([option, value], writer);

        exit.Should().Be(1);
        writer.ToString().Should().Contain(error);
    }

    [Fact]
    public async Task RunAsync_NoDatabaseGiven_WritesToATemporaryFolderAndPrintsIt()
    {
        using var writer = new StringWriter();

        var exit = await QuickstartApp.RunAsync(["--customers", "50", "--days", "7", "--culture", "en-US"], writer);

        exit.Should().Be(0);
        var first = writer.ToString().Split('\n')[0].Trim();
        first.Should().StartWith("Database: " + Path.GetTempPath());
        var database = first["Database: ".Length..];
        File.Exists(database).Should().BeTrue();
        File.Exists("quickstart.db").Should().BeFalse("nothing is left in the current folder");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(database)!, recursive: true);
    }

    [Theory]
    [InlineData("en-US", @"revenue \d{1,3}(,\d{3})+\.\d\d EUR")]
    [InlineData("de-DE", @"revenue \d{1,3}(\.\d{3})+,\d\d EUR")]
    public async Task RunAsync_Culture_FormatsMoneyWithItsSeparators(string culture, string pattern)
    {
        using var writer = new StringWriter();

        await QuickstartApp.RunAsync(["--customers", "300", "--days", "30", "--db", Path.Combine(_directory, culture + ".db"), "--culture", culture], writer);

        writer.ToString().Should().MatchRegex(pattern);
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
        var exit = await QuickstartApp.RunAsync(["--customers", "300", "--days", "30", "--database", Path.Combine(_directory, database), "--culture", "en-US"], writer);
        exit.Should().Be(0);
        return writer.ToString().Replace(Path.Combine(_directory, database), "DB", StringComparison.Ordinal);
    }
}
