using System.Collections.Immutable;
using System.Security.Cryptography;
using Engagement.Sdk;
using Microsoft.Extensions.Options;
using Quickstart;

namespace WebShop.Demo;

/// <summary>The demo shop's products (the simulator's, so that the seeded history and the shop sell the same things) and its visitors.</summary>
public sealed class DemoShop
{
    /// <summary>The cookie that keeps a visitor's customer id.</summary>
    public const string VisitorCookie = "shop_visitor";

    /// <summary>Creates the shop.</summary>
    /// <param name="options">The options (the simulator's seed decides the products).</param>
    public DemoShop(IOptions<WebShopOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Products = new ShopSimulator(options.Value.DemoSeed, 1, 1, DateTimeOffset.UnixEpoch).Products;
        ById = Products.ToImmutableDictionary(p => p.Id, StringComparer.Ordinal);
    }

    /// <summary>The products.</summary>
    public ImmutableArray<Product> Products { get; }

    /// <summary>The products by id.</summary>
    public ImmutableDictionary<string, Product> ById { get; }

    /// <summary>The visitor's customer id, from the cookie, or a new one (and the cookie set).</summary>
    /// <param name="context">The request.</param>
    /// <returns>The id.</returns>
    public static CustomerId Visitor(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items[VisitorCookie] is string made)
        {
            return new CustomerId(made);
        }

        if (context.Request.Cookies.TryGetValue(VisitorCookie, out var value) && value.StartsWith("v-", StringComparison.Ordinal) && value.Length == 26 && value[2..].All(char.IsAsciiHexDigitLower))
        {
            return new CustomerId(value);
        }

        var id = "v-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        context.Response.Cookies.Append(VisitorCookie, id, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, MaxAge = TimeSpan.FromDays(365), IsEssential = true });
        context.Items[VisitorCookie] = id;
        return new CustomerId(id);
    }
}
