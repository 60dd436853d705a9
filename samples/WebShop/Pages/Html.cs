using System.Globalization;
using System.Net;
using System.Text;

namespace WebShop.Pages;

/// <summary>Small helpers for the server-rendered pages: one layout, encoding, formatting.</summary>
public static class Html
{
    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
        header{background:#243447;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
        header a{color:#fff;text-decoration:none}header strong{margin-right:1rem}
        main{padding:1rem 1.2rem;max-width:1200px}
        section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem}
        h1{font-size:1.4rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem}
        table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:.25rem .6rem;text-align:left}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.8rem}
        .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem}
        .two{display:grid;grid-template-columns:1fr 1fr;gap:1rem}@media(max-width:900px){.two{grid-template-columns:1fr}}
        .bar{background:#4e79a7;height:.8rem;display:inline-block;vertical-align:middle}
        .ok{color:#2e7d32}.no{color:#b71c1c}.muted{color:#777;font-size:.85rem}
        button,input[type=submit]{background:#243447;color:#fff;border:0;border-radius:4px;padding:.4rem .9rem;cursor:pointer}
        input[type=email],input[type=tel],input[type=text]{padding:.3rem;width:16rem}
        details{margin:.2rem 0}code{font-size:.85rem}
        """;

    /// <summary>Encodes text for HTML.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The encoded text.</returns>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>Formats a count with the invariant culture's separators.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Formats a fraction as a percentage, or a dash.</summary>
    /// <param name="value">The fraction.</param>
    /// <returns>The text.</returns>
    public static string P(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("P1", CultureInfo.InvariantCulture) : "–";

    /// <summary>Formats an instant as UTC.</summary>
    /// <param name="at">The instant.</param>
    /// <returns>The text.</returns>
    public static string T(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>Writes a whole page.</summary>
    /// <param name="title">The title.</param>
    /// <param name="body">The body's content.</param>
    /// <returns>The HTML result.</returns>
    public static IResult Page(string title, string body)
    {
        var html = new StringBuilder(body.Length + 2048);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
        html.Append("<title>").Append(E(title)).Append(" · Demo shop</title><style>").Append(Style).Append("</style></head><body>");
        html.Append("<header><strong>Demo shop</strong><a href=\"/\">Shop</a><a href=\"/cart\">Cart</a><a href=\"/preferences\">Sign up &amp; preferences</a><a href=\"/mailbox\">Mailbox</a><a href=\"/account\">My data</a><a href=\"/dashboard\">Dashboard</a></header><main>");
        html.Append(body).Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }
}
