using CustomStore;
using Engagement.Sdk;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

// The engine on an event store of one's own: events go to a JSON-lines file, everything else stays in memory.
var path = args.Length > 0 ? args[0] : Path.Combine(Directory.CreateTempSubdirectory("engagement-custom-store-").FullName, "events.jsonl");
var services = new ServiceCollection();
services.AddSingleton<IEventStore>(new JsonLinesEventStore(path));
services.AddEngagement();
await using var provider = services.BuildServiceProvider();
var engine = provider.GetRequiredService<IEngagementEngine>();

var now = DateTimeOffset.UtcNow;
await engine.TrackAsync(new ProductViewed { EventId = "view-1", CustomerId = new CustomerId("customer-1"), Timestamp = now, ProductId = "boots" });
await engine.TrackAsync(new AddedToCart { EventId = "cart-1", CustomerId = new CustomerId("customer-1"), Timestamp = now, ProductId = "boots" });

Console.WriteLine($"Events written to {path}:");
foreach (var line in File.ReadLines(path))
{
    Console.WriteLine("  " + line);
}
