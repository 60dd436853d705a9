using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Engagement.Sdk.Channels.Webhook.Tests;

/// <summary>A real HTTP endpoint on 127.0.0.1 that records each request and answers with a test's handler.</summary>
internal sealed class WebhookEndpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, byte[], Task> _handler;
    private readonly Task _loop;

    public WebhookEndpoint(Func<HttpListenerContext, byte[], Task> handler)
    {
        _handler = handler;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public static WebhookEndpoint Replying(int status, Action<HttpListenerResponse>? headers = null)
        => new((context, _) =>
        {
            context.Response.StatusCode = status;
            headers?.Invoke(context.Response);
            context.Response.Close();
            return Task.CompletedTask;
        });

    public int Port { get; }

    public Uri Uri => new($"http://127.0.0.1:{Port}/hooks/engagement");

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var buffer = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(buffer);
                var body = buffer.ToArray();
                Requests.Enqueue(new ReceivedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, Headers(context.Request), body));
                try
                {
                    await _handler(context, body);
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                }
            });
        }
    }

    private static Dictionary<string, string?> Headers(HttpListenerRequest request)
        => request.Headers.AllKeys.Where(static k => k is not null).ToDictionary(static k => k!, k => request.Headers[k], StringComparer.OrdinalIgnoreCase);
}

internal sealed record ReceivedRequest(string Method, string Path, string? ContentType, Dictionary<string, string?> Headers, byte[] Body);
