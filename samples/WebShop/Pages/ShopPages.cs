using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using WebShop.Api;
using WebShop.Demo;
using WebShop.Insights;
using static WebShop.Pages.Html;

namespace WebShop.Pages;

/// <summary>
/// The storefront a visitor browses: products, cart, checkout, sign-up and preferences, the demo mailbox and "my data".
/// Each page tracks what the visitor does through the engine, under the visitor's cookie id (an anonymous identifier until
/// they give an email address).
/// </summary>
public static class ShopPages
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Maps the storefront.</summary>
    /// <param name="app">The application.</param>
    public static void MapShopPages(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/", HomeAsync);
        app.MapGet("/products/{productId}", ProductAsync);
        app.MapPost("/cart", AddToCartAsync).DisableAntiforgery();
        app.MapGet("/cart", CartAsync);
        app.MapPost("/checkout", CheckoutAsync).DisableAntiforgery();
        app.MapGet("/preferences", PreferencesAsync);
        app.MapPost("/preferences", SavePreferencesAsync).DisableAntiforgery();
        app.MapGet("/preferences/confirm", ConfirmAsync);
        app.MapGet("/mailbox", Mailbox);
        app.MapGet("/account", Account);
        app.MapPost("/account/erase", EraseAsync).DisableAntiforgery();
    }

    private static async Task<IResult> HomeAsync(HttpContext context, DemoShop shop, ShopTracker tracker, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        await tracker.TrackAsync(new PageViewed { EventId = NewId(), CustomerId = visitor, Timestamp = tracker.Now, Channel = Channel.Web, Identifiers = [Identifier.Anonymous(visitor.Value)], Url = "/" }, cancellationToken);
        var body = new StringBuilder("<h1>New season</h1><div class=\"grid\">");
        foreach (var product in shop.Products)
        {
            body.Append(Inv, $"<div class=\"card product\"><a href=\"/products/{E(product.Id)}\">{E(product.Id)}</a><div class=\"muted\">{E(product.Category)}</div><div>€{product.Price:N2}</div></div>");
        }

        return Page("Shop", body.Append("</div>").ToString());
    }

    private static async Task<IResult> ProductAsync(string productId, HttpContext context, DemoShop shop, ShopTracker tracker, CancellationToken cancellationToken)
    {
        if (!shop.ById.TryGetValue(productId, out var product))
        {
            return Results.NotFound();
        }

        var visitor = DemoShop.Visitor(context);
        await tracker.TrackAsync(new ProductViewed { EventId = NewId(), CustomerId = visitor, Timestamp = tracker.Now, Channel = Channel.Web, Identifiers = [Identifier.Anonymous(visitor.Value)], ProductId = product.Id, Category = product.Category }, cancellationToken);
        return Page(product.Id, string.Create(Inv, $"""
            <h1>{E(product.Id)}</h1><p>Category: {E(product.Category)}</p><p>Price: €{product.Price:N2}</p>
            <form method="post" action="/cart"><input type="hidden" name="productId" value="{E(product.Id)}"><button id="add-to-cart" type="submit">Add to cart</button></form>
            """));
    }

    private static async Task<IResult> AddToCartAsync(HttpContext context, DemoShop shop, ShopTracker tracker, CancellationToken cancellationToken)
    {
        var form = await context.Request.ReadFormAsync(cancellationToken);
        if (!shop.ById.TryGetValue(form["productId"].ToString(), out var product))
        {
            return Results.BadRequest();
        }

        var visitor = DemoShop.Visitor(context);
        await tracker.TrackAsync(new AddedToCart { EventId = NewId(), CustomerId = visitor, Timestamp = tracker.Now, Channel = Channel.Web, Identifiers = [Identifier.Anonymous(visitor.Value)], ProductId = product.Id, UnitPrice = Money.Of(product.Price, "EUR") }, cancellationToken);
        return Results.Redirect("/cart");
    }

    private static async Task<IResult> CartAsync(HttpContext context, DemoShop shop, IProfileStore profiles, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        var items = await CartItemsAsync(visitor, shop, profiles, cancellationToken);
        if (items.IsEmpty)
        {
            return Page("Cart", "<h1>Your cart</h1><p id=\"cart-empty\">Your cart is empty. <a href=\"/\">Browse the shop</a>.</p>");
        }

        var body = new StringBuilder("<h1>Your cart</h1><table id=\"cart\"><tr><th>Product</th><th class=\"n\">Price</th></tr>");
        foreach (var item in items)
        {
            body.Append(Inv, $"<tr><td>{E(item.Id)}</td><td class=\"n\">€{item.Price:N2}</td></tr>");
        }

        body.Append(Inv, $"<tr><th>Total</th><th class=\"n\">€{items.Sum(i => i.Price):N2}</th></tr></table>");
        body.Append("<form method=\"post\" action=\"/checkout\"><p><button id=\"checkout\" type=\"submit\">Buy now</button></p></form>");
        return Page("Cart", body.ToString());
    }

    private static async Task<IResult> CheckoutAsync(HttpContext context, DemoShop shop, IProfileStore profiles, ShopTracker tracker, DemoMailbox mailbox, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        var items = await CartItemsAsync(visitor, shop, profiles, cancellationToken);
        if (items.IsEmpty)
        {
            return Results.Redirect("/cart");
        }

        var orderId = "o-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var lines = items.Select(p => new OrderLine(p.Id, 1, Money.Of(p.Price, "EUR"), p.Category)).ToImmutableArray();
        var result = await tracker.TrackAsync(new Purchased { EventId = NewId(), CustomerId = visitor, Timestamp = tracker.Now, Channel = Channel.Web, Identifiers = [Identifier.Anonymous(visitor.Value)], OrderId = orderId, Lines = lines }, cancellationToken);

        // The order confirmation is transactional: it rests on the contract, needs no marketing consent, and the shop sends it itself.
        var owner = result.Profile?.Id ?? visitor;
        if (result.Profile?.FindIdentifier(IdentifierKind.Email) is not null)
        {
            mailbox.Add(new MailboxMessage(tracker.Now, owner, Channel.Email, $"Order {orderId} confirmed", null, null));
        }

        var total = lines.Sum(l => l.Total.Amount);
        return Page("Thank you", string.Create(Inv, $"<h1 id=\"thanks\">Thank you for your order</h1><p>Order <code id=\"order-id\">{E(orderId)}</code>, {lines.Length} item(s), €{total:N2}.</p><p><a href=\"/\">Continue shopping</a></p>"));
    }

    private static async Task<IResult> PreferencesAsync(HttpContext context, PreferenceCentre centre, IProfileStore profiles, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        var cells = await centre.ReadAsync(visitor, cancellationToken);
        var profile = await profiles.GetAsync(visitor, cancellationToken);
        var email = profile?.FindIdentifier(IdentifierKind.Email)?.Value;
        var phone = profile?.FindIdentifier(IdentifierKind.Phone)?.Value;
        var body = new StringBuilder("<h1>Sign up and choose what we send you</h1>");
        body.Append("<form id=\"preferences\" method=\"post\" action=\"/preferences\"><section>");
        body.Append(Inv, $"<p><label>Email <input id=\"email\" type=\"email\" name=\"email\" value=\"{E(email)}\"></label></p>");
        body.Append(Inv, $"<p><label>Mobile (international form, for SMS) <input id=\"phone\" type=\"tel\" name=\"phone\" value=\"{E(phone)}\" placeholder=\"+49 151 2345678\"></label></p>");
        body.Append("<input type=\"hidden\" id=\"timezone\" name=\"timeZone\" value=\"\"></section><section><h2>What you would like, and where</h2><table><tr><th></th>");
        foreach (var channel in ShopCatalogue.Channels)
        {
            body.Append("<th>").Append(E(channel.Name)).Append("</th>");
        }

        body.Append("</tr>");
        foreach (var type in ShopCatalogue.MarketingTypes)
        {
            body.Append(Inv, $"<tr><td><strong>{E(type.Title)}</strong><div class=\"muted\">{E(type.Description)}</div></td>");
            foreach (var channel in ShopCatalogue.Channels)
            {
                var cell = cells.FirstOrDefault(c => c.MessageType == type.Id && c.Channel == channel.Name);
                var on = cell is not null && (cell.Allowed || cell.Status == "pending_confirmation");
                var note = cell?.Status == "pending_confirmation" ? " <span class=\"muted\">awaiting confirmation</span>" : string.Empty;
                body.Append(Inv, $"<td><input type=\"checkbox\" id=\"{channel.Name}-{type.Id}\" name=\"choice\" value=\"{channel.Name}:{type.Id}\"{(on ? " checked" : string.Empty)}>{note}</td>");
            }

            body.Append("</tr>");
        }

        body.Append(Inv, $"<tr><td><strong>{E(ShopCatalogue.OrderUpdates.Title)}</strong><div class=\"muted\">{E(ShopCatalogue.OrderUpdates.Description)}</div></td><td colspan=\"3\">always on</td></tr></table>");
        body.Append("<p class=\"muted\">Email and SMS choices take effect when you follow the confirmation link we send there. You can change them at any time.</p>");
        body.Append("<p><button id=\"save-preferences\" type=\"submit\">Save</button></p></section></form>");
        body.Append("<script>document.getElementById('timezone').value=Intl.DateTimeFormat().resolvedOptions().timeZone||'';</script>");
        return Page("Preferences", body.ToString());
    }

    private static async Task<IResult> SavePreferencesAsync(HttpContext context, PreferenceCentre centre, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        var form = await context.Request.ReadFormAsync(cancellationToken);
        var choices = form["choice"].Select(v => v?.Split(':', 2)).Where(p => p is { Length: 2 }).Select(p => new PreferenceChoice(p![0], p[1])).ToImmutableArray();
        try
        {
            var request = new PreferenceRequest { Email = form["email"], Phone = form["phone"], TimeZone = form["timeZone"], Choices = choices };
            var result = await centre.SaveAsync(visitor, request, (owner, channel, tokens) => ApiEndpoints.ConfirmationLink(context.Request, owner, channel, tokens), "preference-centre", cancellationToken);
            var body = new StringBuilder("<h1 id=\"saved\">Your choices are saved</h1>");
            if (result.PendingConfirmation.Length > 0)
            {
                body.Append(Inv, $"<p id=\"confirm-needed\">We sent a confirmation link by {E(string.Join(" and ", result.ConfirmationSentTo))}: your {N(result.PendingConfirmation.Length)} choice(s) there take effect when you follow it. <a href=\"/mailbox\">Open the demo mailbox</a>.</p>");
            }

            body.Append(Inv, $"<p>In force now: {N(result.Granted.Length)}; withdrawn: {N(result.Withdrawn.Length)}.</p>");
            return Page("Preferences saved", body.ToString());
        }
        catch (EngagementValidationException ex)
        {
            return Page("Preferences", $"<h1>Please check the form</h1><p id=\"error\" class=\"no\">{E(ApiError.From(ex).Message)}</p><p><a href=\"/preferences\">Back</a></p>");
        }
    }

    private static async Task<IResult> ConfirmAsync(HttpContext context, PreferenceCentre centre, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        try
        {
            var result = await centre.ConfirmAsync(new CustomerId(query["customer"].ToString()), query["channel"].ToString(), query["tokens"].ToString().Split('.', StringSplitOptions.RemoveEmptyEntries), cancellationToken);
            return result.Confirmed > 0
                ? Page("Confirmed", $"<h1 id=\"confirmed\">Thank you: {N(result.Confirmed)} subscription(s) confirmed</h1><p><a href=\"/\">Back to the shop</a></p>")
                : Page("Not confirmed", $"<h1 id=\"not-confirmed\">Nothing to confirm</h1><p>{E(string.Join(", ", result.Outcomes.Distinct()))}</p>");
        }
        catch (EngagementValidationException ex)
        {
            return Page("Not confirmed", $"<h1 id=\"not-confirmed\">Nothing to confirm</h1><p>{E(ApiError.From(ex).Message)}</p>");
        }
    }

    private static IResult Mailbox(HttpContext context, DemoMailbox mailbox)
    {
        var visitor = DemoShop.Visitor(context);
        var body = new StringBuilder("<h1>Demo mailbox</h1><p class=\"muted\">What this shop sent you by email, SMS and push (the demo delivers here instead of to real providers).</p><table id=\"mailbox\"><tr><th>When (UTC)</th><th>Channel</th><th>Message</th></tr>");
        foreach (var message in mailbox.For(visitor))
        {
            var link = message.Link is { } href ? $" <a class=\"confirm-link\" href=\"{E(href)}\">Confirm my subscription</a>" : string.Empty;
            body.Append(Inv, $"<tr><td>{T(message.At)}</td><td>{E(message.Channel.Name)}</td><td>{E(message.Subject)}{link}</td></tr>");
        }

        return Page("Mailbox", body.Append("</table>").ToString());
    }

    private static IResult Account(HttpContext context)
    {
        var visitor = DemoShop.Visitor(context);
        return Page("My data", $"""
            <h1>My data</h1><p>Your customer id: <code id="customer-id">{E(visitor.Value)}</code></p>
            <p><a id="export" href="/api/customers/{E(visitor.Value)}/export">Download everything the shop holds about you (JSON)</a></p>
            <form method="post" action="/account/erase"><button id="erase" type="submit">Erase my data</button></form>
            <p><a href="/dashboard?customer={E(visitor.Value)}">See yourself on the dashboard</a></p>
            """);
    }

    private static async Task<IResult> EraseAsync(HttpContext context, CustomerErasure erasure, DecisionLog decisions, DemoMailbox mailbox, ShopInsights insights, CancellationToken cancellationToken)
    {
        var visitor = DemoShop.Visitor(context);
        var report = await erasure.EraseAsync(visitor, cancellationToken);
        decisions.Forget(visitor);
        mailbox.Forget(visitor);
        insights.MarkChanged();
        context.Response.Cookies.Delete(DemoShop.VisitorCookie);
        return Page("Erased", $"<h1 id=\"erased\">Your data is erased</h1><p>{N(report.ItemsRemoved.Values.Sum())} items removed; {N(report.IdentifiersSuppressed)} address(es) kept only as a hash so that we never contact them again.</p>");
    }

    private static async Task<ImmutableArray<Quickstart.Product>> CartItemsAsync(CustomerId visitor, DemoShop shop, IProfileStore profiles, CancellationToken cancellationToken)
    {
        var profile = await profiles.GetAsync(visitor, cancellationToken);
        if (profile?.MergedInto is { } redirect)
        {
            profile = await profiles.GetAsync(redirect.SurvivorId, cancellationToken);
        }

        return profile is null ? [] : [.. profile.Behaviour.ItemsInCart.Where(shop.ById.ContainsKey).Select(id => shop.ById[id])];
    }

    private static string NewId() => "web-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
}

/// <summary>Tracks the storefront's events through the engine and keeps the dashboard informed.</summary>
/// <param name="engine">The engine.</param>
/// <param name="decisions">The decision log.</param>
/// <param name="insights">The dashboard's data.</param>
/// <param name="time">The clock.</param>
public sealed class ShopTracker(IEngagementEngine engine, DecisionLog decisions, ShopInsights insights, TimeProvider time)
{
    /// <summary>The present.</summary>
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Tracks an event.</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What tracking did.</returns>
    public async Task<TrackResult> TrackAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken)
    {
        var result = await engine.TrackAsync(engagementEvent, cancellationToken).ConfigureAwait(false);
        decisions.Record(result);
        insights.MarkChanged();
        return result;
    }
}
