using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>Option checks that need no server.</summary>
public sealed class PostgreSqlStoreOptionsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("1st")]
    [InlineData("bad-name")]
    [InlineData("two words")]
    [InlineData("x\";DROP SCHEMA public;--")]
    [InlineData("ünïcode")]
    [InlineData("pg_catalog")]
    [InlineData("a123456789012345678901234567890123456789012345678901234567890123")]
    public void Constructor_BadSchemaName_ThrowsNamingFieldValueAndRule(string schema)
    {
        var act = () => new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = "Host=127.0.0.1", Schema = schema }));

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be("PostgreSqlStoreOptions.Schema");
        error.Value.Should().Be(schema);
        error.Rule.Should().NotBeNullOrWhiteSpace();
    }

    [Theory]
    [InlineData("engagement")]
    [InlineData("_tenant_42")]
    [InlineData("Shop")]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012")]
    public void Constructor_PlainSchemaName_IsAccepted(string schema)
    {
        using var database = new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = "Host=127.0.0.1", Schema = schema }));

        database.Schema.Should().Be(schema);
    }

    [Fact]
    public void Constructor_EmptyConnectionString_ThrowsNamingTheField()
    {
        var act = () => new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = " " }));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("PostgreSqlStoreOptions.ConnectionString");
    }

    [Fact]
    public async Task UsePostgreSql_BadOptions_FailAtStartUpValidationNamingEachProblem()
    {
        var services = new ServiceCollection();
        services.AddEngagement().UsePostgreSql(o =>
        {
            o.ConnectionString = " ";
            o.Schema = "bad-name";
            o.CommandTimeout = TimeSpan.Zero;
        });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().HaveCount(3)
            .And.Contain(f => f.Contains("ConnectionString", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("Schema 'bad-name'", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("CommandTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UsePostgreSql_GoodOptions_PassStartUpValidationWithoutAServer()
    {
        var services = new ServiceCollection();
        services.AddEngagement().UsePostgreSql(o =>
        {
            o.ConnectionString = "Host=127.0.0.1;Database=shop;Username=shop";
            o.Schema = "tenant_7";
            o.CommandTimeout = TimeSpan.FromSeconds(5);
        });
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();

        provider.GetRequiredService<PostgreSqlDatabase>().Schema.Should().Be("tenant_7");
    }
}
