using Engagement.Sdk.Channels;
using Engagement.Sdk.OutboxWorkerHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// One delivery worker on a shared store, until it is killed, its standard input closes, or Ctrl+C.
WorkerArguments arguments;
try
{
    arguments = WorkerArguments.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var services = new ServiceCollection();
services.AddLogging(logging => logging.AddProvider(new StandardErrorLoggerProvider(arguments.WorkerId)));
var builder = OutboxWorkerSetup.AddShop(services, arguments.Endpoint);
if (arguments.SqlitePath is { } path)
{
    builder.UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={path}", TimeSpan.FromSeconds(30)));
}
else
{
    builder.UsePostgreSql(o => (o.ConnectionString, o.Schema) = (arguments.PostgresConnectionString!, arguments.PostgresSchema!));
}

await using var provider = services.BuildServiceProvider();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// A closed standard input stops the worker: the process that started it is done with it, or gone.
_ = Task.Run(async () =>
{
    var buffer = new byte[256];
    using var input = Console.OpenStandardInput();
    while (await input.ReadAsync(buffer) > 0)
    {
    }

    await stop.CancelAsync();
});

var worker = ActivatorUtilities.CreateInstance<DispatchWorker>(provider, arguments.WorkerId);
await worker.RunAsync(stop.Token);
return 0;
