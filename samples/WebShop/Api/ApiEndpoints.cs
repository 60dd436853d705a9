using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using Engagement.Sdk;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;
using WebShop.Demo;
using WebShop.Insights;

namespace WebShop.Api;

/// <summary>The shop's JSON API: tracking, the next best action, preferences, export and erasure, and the dashboard's figures.</summary>
public static class ApiEndpoints
{
    /// <summary>The largest batch body accepted (16 MiB).</summary>
    public const int MaxBatchBytes = 16 * 1024 * 1024;

    /// <summary>The most events in one batch.</summary>
    public const int MaxBatchEvents = 10_000;

    /// <summary>Maps the API under <c>/api</c>.</summary>
    /// <param name="app">The application.</param>
    public static void MapShopApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api");
        api.MapPost("/events", TrackAsync);
        api.MapPost("/events/batch", TrackBatchAsync);
        api.MapGet("/customers/{customerId}/next-best-action", NextBestActionAsync);
        api.MapGet("/customers/{customerId}/preferences", ReadPreferencesAsync);
        api.MapPut("/customers/{customerId}/preferences", SavePreferencesAsync);
        api.MapPost("/customers/{customerId}/preferences/confirm", ConfirmAsync);
        api.MapGet("/customers/{customerId}/export", ExportAsync);
        api.MapDelete("/customers/{customerId}", EraseAsync);
        api.MapGet("/dashboard", (ShopInsights insights) => insights.Current is { } snapshot ? Results.Ok(DashboardSummary.From(snapshot)) : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
    }

    private static async Task<IResult> TrackAsync(HttpRequest request, IEngagementEngine engine, DecisionLog decisions, ShopInsights insights, IJourneyStore journeys, JourneyCatalog catalog, IOptions<EngagementOptions> options, CancellationToken cancellationToken)
    {
        try
        {
            var engagementEvent = await EventJson.DeserializeAsync(request.Body, cancellationToken: cancellationToken);
            var result = await engine.TrackAsync(engagementEvent, cancellationToken);
            decisions.Record(result);
            insights.MarkChanged();
            var stage = await StageAsync(result, journeys, catalog, options.Value.DecisionJourneyId, cancellationToken);
            return Results.Ok(Describe(result, stage));
        }
        catch (EngagementValidationException ex)
        {
            return Results.BadRequest(ApiError.From(ex));
        }
        catch (EventConflictException)
        {
            return Results.Conflict(new ApiError("eventId", "must not be reused for a different event", "The event id was used before for a different event."));
        }
    }

    private static async Task<IResult> TrackBatchAsync(HttpRequest request, IEngagementEngine engine, DecisionLog decisions, ShopInsights insights, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBatchBytes)
        {
            return Results.BadRequest(new ApiError("payload", $"must be at most {MaxBatchBytes} bytes", "The batch is too large."));
        }

        var body = new ArrayBufferWriter<byte>(request.ContentLength is { } length and > 0 ? (int)length : 64 * 1024);
        var stream = request.Body;
        while (true)
        {
            var read = await stream.ReadAsync(body.GetMemory(64 * 1024), cancellationToken);
            if (read == 0)
            {
                break;
            }

            body.Advance(read);
            if (body.WrittenCount > MaxBatchBytes)
            {
                return Results.BadRequest(new ApiError("payload", $"must be at most {MaxBatchBytes} bytes", "The batch is too large."));
            }
        }

        var rejected = ImmutableArray.CreateBuilder<BatchRejection>();
        var events = new List<EngagementEvent>();
        var positions = new List<int>();
        try
        {
            var json = body.WrittenSpan;
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return Results.BadRequest(new ApiError("payload", "must be a JSON array of events", "The batch must be a JSON array of events."));
            }

            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (index >= MaxBatchEvents)
                {
                    return Results.BadRequest(new ApiError("payload", $"must hold at most {MaxBatchEvents} events", "The batch holds too many events."));
                }

                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                var element = json[start..(int)reader.BytesConsumed];
                try
                {
                    events.Add(EventJson.Deserialize(element));
                    positions.Add(index);
                }
                catch (EngagementValidationException ex)
                {
                    rejected.Add(new BatchRejection(index, ApiError.From(ex)));
                }

                index++;
            }
        }
        catch (JsonException)
        {
            return Results.BadRequest(new ApiError("payload", "must be a JSON array of events", "The batch is not well-formed JSON."));
        }

        var results = await engine.TrackBatchAsync(events, cancellationToken);
        int accepted = 0, duplicates = 0, decided = 0;
        foreach (var item in results)
        {
            if (item.Result is { } result)
            {
                accepted++;
                duplicates += result.IsDuplicate ? 1 : 0;
                if (result.Decision is not null)
                {
                    decided++;
                    decisions.Record(result);
                }
            }
            else
            {
                var error = item.Error is EngagementValidationException validation
                    ? ApiError.From(validation)
                    : new ApiError("eventId", "must not be reused for a different event", item.Error?.GetType().Name ?? "rejected");
                rejected.Add(new BatchRejection(positions[item.Index], error));
            }
        }

        if (accepted > 0)
        {
            insights.MarkChanged();
        }

        return Results.Ok(new BatchResponse(accepted, duplicates, decided, [.. rejected.OrderBy(r => r.Index)]));
    }

    private static async Task<IResult> NextBestActionAsync(string customerId, IEngagementEngine engine, DecisionLog decisions, CancellationToken cancellationToken)
    {
        if (!TryCustomer(customerId, out var id, out var error))
        {
            return error;
        }

        var decision = await engine.DecideAsync(id, cancellationToken);
        decisions.Record(decision, contacted: false);
        return Results.Ok(DecisionTrace.From(decision));
    }

    private static async Task<IResult> ReadPreferencesAsync(string customerId, PreferenceCentre centre, CancellationToken cancellationToken)
        => TryCustomer(customerId, out var id, out var error) ? Results.Ok(await centre.ReadAsync(id, cancellationToken)) : error;

    private static async Task<IResult> SavePreferencesAsync(string customerId, PreferenceRequest body, HttpRequest request, PreferenceCentre centre, CancellationToken cancellationToken)
    {
        if (!TryCustomer(customerId, out var id, out var error))
        {
            return error;
        }

        try
        {
            return Results.Ok(await centre.SaveAsync(id, body, (owner, channel, tokens) => ConfirmationLink(request, owner, channel, tokens), "api", cancellationToken));
        }
        catch (EngagementValidationException ex)
        {
            return Results.BadRequest(ApiError.From(ex));
        }
    }

    private static async Task<IResult> ConfirmAsync(string customerId, string channel, string tokens, PreferenceCentre centre, CancellationToken cancellationToken)
    {
        if (!TryCustomer(customerId, out var id, out var error))
        {
            return error;
        }

        try
        {
            return Results.Ok(await centre.ConfirmAsync(id, channel, tokens.Split('.', StringSplitOptions.RemoveEmptyEntries), cancellationToken));
        }
        catch (EngagementValidationException ex)
        {
            return Results.BadRequest(ApiError.From(ex));
        }
    }

    private static async Task<IResult> ExportAsync(string customerId, CustomerDataPortability portability, CancellationToken cancellationToken)
    {
        if (!TryCustomer(customerId, out var id, out var error))
        {
            return error;
        }

        var export = await portability.ExportAsync(id, cancellationToken);
        return Results.Bytes(CustomerDataPortability.ToJson(export), "application/json", $"{id.Value}-export.json");
    }

    private static async Task<IResult> EraseAsync(string customerId, CustomerErasure erasure, DecisionLog decisions, DemoMailbox mailbox, ShopInsights insights, CancellationToken cancellationToken)
    {
        if (!TryCustomer(customerId, out var id, out var error))
        {
            return error;
        }

        var report = await erasure.EraseAsync(id, cancellationToken);
        decisions.Forget(id);
        mailbox.Forget(id);
        insights.MarkChanged();
        return Results.Ok(new ErasureResponse(report.CustomerId.Value, report.ItemsRemoved, report.IdentifiersSuppressed));
    }

    /// <summary>The link a confirmation message carries.</summary>
    /// <param name="request">The request (for the shop's address).</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="channel">The channel the link goes out on.</param>
    /// <param name="tokens">The double opt-in tokens.</param>
    /// <returns>An absolute link.</returns>
    public static string ConfirmationLink(HttpRequest request, CustomerId customerId, Engagement.Sdk.Channels.Channel channel, IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(tokens);
        return $"{request.Scheme}://{request.Host}/preferences/confirm?customer={Uri.EscapeDataString(customerId.Value)}&channel={channel.Name}&tokens={string.Join('.', tokens)}";
    }

    // The customer's stage in the decision journey after the event, as the journey store holds it.
    private static async ValueTask<string?> StageAsync(TrackResult result, IJourneyStore journeys, JourneyCatalog catalog, string journeyId, CancellationToken cancellationToken)
    {
        if (result.Profile is not { } profile || await journeys.GetAsync(profile.Id, cancellationToken) is not { } record)
        {
            return null;
        }

        foreach (var track in record.Tracks)
        {
            if (track.JourneyId == journeyId)
            {
                return catalog.StageOf(track);
            }
        }

        return null;
    }

    private static TrackResponse Describe(TrackResult result, string? stage)
        => new(
            result.Event.EventId,
            result.IsDuplicate,
            stage,
            [.. result.Transitions.Select(t => t.JourneyId + ":" + t.ToStageId)],
            result.Decision is { } d ? new DecisionSummary(d.Action.Id, d.Channel?.Name, d.Explain()) : null,
            result.Dispatch?.Result.DispatchId);

    private static bool TryCustomer(string value, out CustomerId id, out IResult error)
    {
        try
        {
            id = new CustomerId(value);
            error = Results.Empty;
            return true;
        }
        catch (EngagementValidationException ex)
        {
            id = default;
            error = Results.BadRequest(ApiError.From(ex));
            return false;
        }
    }
}
