using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Journeys;
using global::WebShop;
using global::WebShop.Demo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.WebShop.Tests;

/// <summary>The shop's JSON API over HTTP on a real server: tracking, the next best action, preferences, export and erasure.</summary>
public sealed class ShopApiTests(WebShopServer server) : IClassFixture<WebShopServer>
{
    private static string Now => DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture);

    [Fact]
    public async Task TrackBatch_OneBadEventAmongGoodOnes_AcceptsTheOthersAndNamesTheRejectedOne()
    {
        using var client = server.CreateClient();
        var id = "api-" + Guid.NewGuid().ToString("N");
        var batch = $$"""
            [
              {"type":"product_viewed","eventId":"{{id}}-1","customerId":"{{id}}","timestamp":"{{Now}}","productId":"sku-001"},
              {"type":"product_viewed","eventId":"{{id}}-2","timestamp":"{{Now}}","productId":"sku-002"},
              {"type":"added_to_cart","eventId":"{{id}}-3","customerId":"{{id}}","timestamp":"{{Now}}","productId":"sku-001","quantity":1}
            ]
            """;

        using var response = await client.PostAsync("/api/events/batch", new StringContent(batch, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        json.GetProperty("accepted").GetInt32().Should().Be(2);
        var rejected = json.GetProperty("rejected").EnumerateArray().ToList();
        rejected.Should().ContainSingle();
        rejected[0].GetProperty("index").GetInt32().Should().Be(1);
        rejected[0].GetProperty("error").GetProperty("rule").GetString().Should().Contain("customerId");
        var cart = await client.GetFromJsonAsync<JsonElement>($"/api/customers/{id}/export");
        cart.GetProperty("events").GetArrayLength().Should().Be(2, "the rejected event left nothing behind");
    }

    [Fact]
    public async Task Track_SameEventTwice_SecondIsADuplicate()
    {
        using var client = server.CreateClient();
        var id = "api-" + Guid.NewGuid().ToString("N");
        var body = $$"""{"type":"page_viewed","eventId":"{{id}}-1","customerId":"{{id}}","timestamp":"{{Now}}","url":"/"}""";

        var first = await (await client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();

        first.GetProperty("duplicate").GetBoolean().Should().BeFalse();
        first.GetProperty("stage").GetString().Should().Be("attraction");
        second.GetProperty("duplicate").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData("{\"type\":\"page_viewed\"}", "[")]
    [InlineData("[{\"type\":\"page_viewed\"", "payload")]
    public async Task TrackBatch_NotAJsonArrayOfEvents_IsABadRequestNamingThePayload(string body, string _)
    {
        using var client = server.CreateClient();

        using var response = await client.PostAsync("/api/events/batch", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString().Should().Be("payload");
    }

    [Fact]
    public async Task Track_EventWithUnknownProperty_IsABadRequestNamingTheField()
    {
        using var client = server.CreateClient();
        var body = $$"""{"type":"page_viewed","eventId":"x-1","customerId":"x","timestamp":"{{Now}}","colour":"red"}""";

        using var response = await client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString().Should().Contain("colour");
    }

    [Fact]
    public async Task NextBestAction_SeededCustomer_ExplainsEveryCandidate()
    {
        using var client = server.CreateClient();

        var decision = await client.GetFromJsonAsync<JsonElement>("/api/customers/c00001/next-best-action");

        decision.GetProperty("customerId").GetString().Should().Be("c00001");
        var candidates = decision.GetProperty("candidates").EnumerateArray().ToList();
        candidates.Should().NotBeEmpty();
        candidates.Should().OnlyContain(c => c.GetProperty("reason").GetString()!.Length > 0 && c.GetProperty("detail").GetString()!.Length > 0);
        candidates.Count(c => c.GetProperty("status").GetString() == "chosen").Should().BeLessThanOrEqualTo(1);
        decision.GetProperty("explanation").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Preferences_EmailChoice_IsPendingUntilTheLinkIsFollowedThenWithdrawnWhenSwitchedOff()
    {
        using var client = server.CreateClient();
        var id = "api-" + Guid.NewGuid().ToString("N");
        var choose = new { email = id + "@example.com", timeZone = "Europe/Berlin", choices = new[] { new { channel = "email", messageType = "offers" } } };

        var saved = await (await client.PutAsJsonAsync($"/api/customers/{id}/preferences", choose)).Content.ReadFromJsonAsync<JsonElement>();
        saved.GetProperty("pendingConfirmation").EnumerateArray().Select(c => c.GetProperty("messageType").GetString()).Should().Equal("offers");
        (await CellAsync(client, id, "email", "offers")).Should().Be("pending_confirmation");

        var link = server.App.Services.GetRequiredService<DemoMailbox>().For(new CustomerId(id)).Single(m => m.Link is not null).Link!;
        var tokens = link[(link.IndexOf("tokens=", StringComparison.Ordinal) + 7)..];
        var confirmed = await (await client.PostAsync($"/api/customers/{id}/preferences/confirm?channel=email&tokens={tokens}", null)).Content.ReadFromJsonAsync<JsonElement>();
        confirmed.GetProperty("confirmed").GetInt32().Should().Be(1);
        (await CellAsync(client, id, "email", "offers")).Should().Be("consent_granted");
        (await CellAsync(client, id, "email", "reminders")).Should().Be("no_consent", "consent for one message type grants no other");

        var again = await (await client.PostAsync($"/api/customers/{id}/preferences/confirm?channel=email&tokens={tokens}", null)).Content.ReadFromJsonAsync<JsonElement>();
        again.GetProperty("outcomes").EnumerateArray().Select(o => o.GetString()).Should().Equal("AlreadyUsed");

        var off = await (await client.PutAsJsonAsync($"/api/customers/{id}/preferences", new { email = id + "@example.com", choices = Array.Empty<object>() })).Content.ReadFromJsonAsync<JsonElement>();
        off.GetProperty("withdrawn").GetArrayLength().Should().Be(1);
        (await CellAsync(client, id, "email", "offers")).Should().Be("consent_withdrawn");
    }

    [Theory]
    [InlineData("email", "surveys", "choices[0].messageType")]
    [InlineData("fax", "offers", "choices[0].channel")]
    [InlineData("sms", "offers", "phone")]
    public async Task Preferences_InvalidChoice_IsABadRequestNamingTheFieldAndRecordsNothing(string channel, string type, string field)
    {
        using var client = server.CreateClient();
        var id = "api-" + Guid.NewGuid().ToString("N");

        using var response = await client.PutAsJsonAsync($"/api/customers/{id}/preferences", new { email = id + "@example.com", choices = new[] { new { channel, messageType = type } } });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString().Should().Be(field);
        var export = await client.GetFromJsonAsync<JsonElement>($"/api/customers/{id}/export");
        export.GetProperty("events").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task ExportThenErase_SeededCustomer_ExportHoldsTheirDataAndErasureRemovesIt()
    {
        using var client = server.CreateClient();

        var export = await client.GetFromJsonAsync<JsonElement>("/api/customers/c00007/export");
        export.GetProperty("events").GetArrayLength().Should().BeGreaterThan(0);

        using var erase = await client.DeleteAsync("/api/customers/c00007");
        var report = await erase.Content.ReadFromJsonAsync<JsonElement>();
        erase.StatusCode.Should().Be(HttpStatusCode.OK);
        report.GetProperty("itemsRemoved").EnumerateObject().Sum(p => p.Value.GetInt32()).Should().BeGreaterThan(0);

        var after = await client.GetFromJsonAsync<JsonElement>("/api/customers/c00007/export");
        after.GetProperty("events").GetArrayLength().Should().Be(0);
        (await client.GetStringAsync("/dashboard?customer=c00007")).Should().Contain("customer-erased");
    }

    [Fact]
    public async Task Dashboard_WithSeededData_ServesTheFigures()
    {
        using var client = server.CreateClient();

        var html = await client.GetStringAsync("/dashboard");
        var summary = await client.GetFromJsonAsync<JsonElement>("/api/dashboard");

        html.Should().Contain("id=\"funnel\"").And.Contain("id=\"stages-chart\"").And.Contain("id=\"messages\"").And.Contain("id=\"clv\"").And.Contain("id=\"decisions\"");
        html.Should().NotContainAny(["src=\"http", "href=\"http", "<link", "@import"], "the page loads nothing from elsewhere");
        summary.GetProperty("customers").GetInt32().Should().BeGreaterThanOrEqualTo(300);
        summary.GetProperty("funnel").GetArrayLength().Should().Be(4);
        summary.GetProperty("messages").EnumerateArray().Sum(m => m.GetProperty("sent").GetInt32()).Should().BeGreaterThan(0, "the seeded outbox was delivered");
    }

    [Fact]
    public async Task Dashboard_JourneyFigures_ComeFromTheJourneyStore()
    {
        var services = server.App.Services;
        var store = services.GetRequiredService<IJourneyStore>();
        var catalog = services.GetRequiredService<JourneyCatalog>();
        var snapshot = await services.GetRequiredService<global::WebShop.Insights.ShopInsights>().RefreshAsync(force: true);

        // Where each customer is now, read from the records, not the history the figures were computed from.
        var now = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var record in store.ListAsync())
        {
            foreach (var track in record.Tracks.Where(t => t.JourneyId == snapshot.JourneyId))
            {
                if (catalog.StageOf(track) is { } stage)
                {
                    now[stage] = now.GetValueOrDefault(stage) + 1;
                }
            }
        }

        var entered = new HashSet<CustomerId>();
        await foreach (var entry in store.ReadJourneyHistoryAsync(snapshot.JourneyId))
        {
            if (entry.Kind == JourneyHistoryKind.Entered)
            {
                entered.Add(entry.CustomerId);
            }
        }

        snapshot.Stages.Select(k => k.StageId).Should().Equal("attraction", "relationship", "conversion", "engagement");
        snapshot.Stages.ToDictionary(k => k.StageId, k => k.Current).Where(kv => kv.Value > 0).Should().BeEquivalentTo(now);
        snapshot.Stages[0].Reached.Should().Be(entered.Count).And.BeGreaterThan(250, "300 customers were seeded (a test erases one)");
        snapshot.Stages.Skip(1).Should().AllSatisfy(k => k.Reached.Should().BeGreaterThan(0, "the seeded customers carted and bought"));
        snapshot.Stages.Sum(k => k.EnteredLast7Days).Should().BeGreaterThan(0, "the seeded month ends last midnight");
        snapshot.Stages.Sum(k => k.Revenue).Should().BeGreaterThan(0);
        snapshot.StagesByWeek[^1].InStage.Should().Equal(snapshot.Stages.Select(k => k.Current), "the week under way ends now, and so counts who is where now");
        snapshot.StagesByWeek.Sum(w => w.Entered[1]).Should().Be(snapshot.Stages[1].Reached, "each seeded customer entered relationship once");
    }

    [Fact]
    public async Task DashboardRefresh_AfterAComputation_WaitsTenTimesItsDurationBeforeTheNext()
    {
        // A computation of its own (not the background service's), on a clock whose timestamps are seconds and move one a read.
        var insights = ActivatorUtilities.CreateInstance<global::WebShop.Insights.ShopInsights>(server.App.Services);
        var clock = new SteppingClock();
        var work = new global::WebShop.Insights.DashboardRefreshWork(insights, Options.Create(new WebShopOptions()), clock);

        await work.RunOnceAsync(CancellationToken.None);
        var first = insights.Current;
        insights.MarkChanged();
        await work.RunOnceAsync(CancellationToken.None);
        var skipped = insights.Current;
        clock.Seconds += 20;
        await work.RunOnceAsync(CancellationToken.None);

        first.Should().NotBeNull();
        skipped.Should().BeSameAs(first, "the first computation took 1 s (by this clock), so the next waits 10 s");
        insights.Current.Should().NotBeSameAs(first, "the data changed and the wait was over");
        insights.IsStale.Should().BeFalse();
    }

    [Fact]
    public void Create_PostgreSqlWithoutConnectionString_FailsNamingTheSetting()
    {
        var create = () => WebShopApp.Create(["--urls=http://127.0.0.1:0", "--WebShop:Database=PostgreSql", "--WebShop:DemoCustomers=0"]);

        create.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("WebShop:ConnectionString");
    }

    private static async Task<string> CellAsync(HttpClient client, string id, string channel, string type)
    {
        var cells = await client.GetFromJsonAsync<JsonElement>($"/api/customers/{id}/preferences");
        return cells.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == channel && c.GetProperty("messageType").GetString() == type).GetProperty("status").GetString()!;
    }
}

/// <summary>A clock whose timestamps count seconds and move one second each time they are read.</summary>
internal sealed class SteppingClock : TimeProvider
{
    public long Seconds { get; set; }

    public override long TimestampFrequency => 1;

    public override long GetTimestamp() => Seconds++;
}
