using Engagement.Sdk.Consent;
using Engagement.Sdk.PostgreSql;
using Engagement.Sdk.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests;

/// <summary>Every time option of every options class is checked against its documented range at start-up.</summary>
public sealed class OptionsValidationTests
{
    public static TheoryData<string, TimeSpan, string> OutOfRange => new()
    {
        { "MaxClockSkew", TimeSpan.MaxValue, "MaxClockSkew is 10675199.02:48:05.4775807: it must be from 0 to 1 day" },
        { "MaxClockSkew", TimeSpan.FromTicks(-1), "MaxClockSkew is -00:00:00.0000001: it must be from 0 to 1 day" },
        { "LatenessWindow", TimeSpan.FromTicks(1), "LatenessWindow is 00:00:00.0000001: it must be from 1 minute to 3,650 days" },
        { "LatenessWindow", TimeSpan.MaxValue, "LatenessWindow is 10675199.02:48:05.4775807: it must be from 1 minute to 3,650 days" },
        { "EventRetention", TimeSpan.MaxValue, "EventRetention is 10675199.02:48:05.4775807: it must be from 1 day to 36,500 days" },
        { "EventRetention", TimeSpan.FromTicks(1), "EventRetention is 00:00:00.0000001: it must be from 1 day to 36,500 days" },
        { "Caps[0].Window", TimeSpan.MaxValue, "Caps[0].Window is 10675199.02:48:05.4775807: it must be from 1 minute to 366 days" },
        { "Caps[0].Window", TimeSpan.FromTicks(1), "Caps[0].Window is 00:00:00.0000001: it must be from 1 minute to 366 days" },
        { "BusyTimeout", TimeSpan.MaxValue, "SqliteStoreOptions.BusyTimeout is 10675199.02:48:05.4775807: it must be from 10 milliseconds to 10 minutes" },
        { "BusyTimeout", TimeSpan.FromTicks(1), "SqliteStoreOptions.BusyTimeout is 00:00:00.0000001: it must be from 10 milliseconds to 10 minutes" },
        { "CommandTimeout", TimeSpan.MaxValue, "PostgreSqlStoreOptions.CommandTimeout is 10675199.02:48:05.4775807: the command timeout must be from 1 second to 1 hour" },
        { "CommandTimeout", TimeSpan.FromTicks(1), "PostgreSqlStoreOptions.CommandTimeout is 00:00:00.0000001: the command timeout must be from 1 second to 1 hour" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public async Task StartUp_TimeOptionOutsideItsRange_FailsNamingTheOptionValueAndRange(string option, TimeSpan value, string message)
    {
        var services = new ServiceCollection();
        var builder = services.AddEngagement(o =>
        {
            switch (option)
            {
                case "MaxClockSkew": o.MaxClockSkew = value; break;
                case "LatenessWindow": o.LatenessWindow = value; break;
                case "EventRetention": (o.EventRetention, o.LatenessWindow) = (value, TimeSpan.FromDays(1)); break;
            }
        });
        services.Configure<ContactPolicyOptions>(p =>
        {
            if (option == "Caps[0].Window")
            {
                p.Caps[0].Window = value;
            }
        });
        if (option == "BusyTimeout")
        {
            builder.UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ("Data Source=:memory:", value));
        }
        else if (option == "CommandTimeout")
        {
            builder.UsePostgreSql(o => (o.ConnectionString, o.CommandTimeout) = ("Host=127.0.0.1;Database=shop;Username=shop", value));
        }

        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validators_TheDefaults_Pass()
    {
        new EngagementOptionsValidator().Validate(null, new EngagementOptions()).Succeeded.Should().BeTrue();
        new ContactPolicyOptionsValidator().Validate(null, new ContactPolicyOptions()).Succeeded.Should().BeTrue();
        new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions { ConnectionString = "Data Source=shop.db" }).Succeeded.Should().BeTrue();
        new PostgreSqlStoreOptionsValidator().Validate(null, new PostgreSqlStoreOptions { ConnectionString = "Host=127.0.0.1" }).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Validators_TheEndsOfEachRange_Pass()
    {
        new EngagementOptionsValidator().Validate(null, new EngagementOptions { MaxClockSkew = TimeSpan.FromDays(1), LatenessWindow = TimeSpan.FromMinutes(1), EventRetention = TimeSpan.FromDays(1) }).Succeeded.Should().BeTrue();
        new EngagementOptionsValidator().Validate(null, new EngagementOptions { MaxClockSkew = TimeSpan.Zero, LatenessWindow = TimeSpan.FromDays(3650), EventRetention = TimeSpan.FromDays(36_500) }).Succeeded.Should().BeTrue();
        var policy = new ContactPolicyOptions();
        (policy.Caps[0].Window, policy.Caps[1].Window) = (TimeSpan.FromMinutes(1), TimeSpan.FromDays(366));
        new ContactPolicyOptionsValidator().Validate(null, policy).Succeeded.Should().BeTrue();
    }
}
