using Engagement.Sdk.OutboxWorkerHost;
using Engagement.Sdk.SharedTests;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>The outbox under kill -9 on PostgreSQL: worker processes on one schema, killed and replaced while they deliver 500 messages.</summary>
/// <param name="server">The server.</param>
/// <param name="output">The test's output.</param>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlOutboxKillTests(PostgreSqlServerFixture server, ITestOutputHelper output) : OutboxKillTests(output)
{
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");

    protected override int Messages => 500;

    protected override string StoreName => "PostgreSQL";

    protected override void UseStore(EngagementBuilder builder)
        => builder.UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, _schema));

    protected override WorkerArguments WorkerOn(Uri endpoint, string workerId) => new(endpoint, workerId, null, server.ConnectionString, _schema);
}
