using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Engagement.Sdk.Channels.Smtp.Tests;

/// <summary>A real SMTP server on 127.0.0.1 (the SmtpServer package) whose replies a test decides.</summary>
internal sealed class TestSmtpServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly global::SmtpServer.SmtpServer _server;
    private readonly Task _running;

    public TestSmtpServer(Func<IMailbox, Task>? onRecipient = null, Func<MimeMessage, Task<SmtpResponse>>? onMessage = null, Func<IMailbox, Task>? onSender = null, bool dropAfterData = false)
    {
        DropAfterData = dropAfterData;
        Port = FreePort();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)))
            .Build();
        var services = new global::SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Filter(onSender, onRecipient, this));
        services.Add(new Store(onMessage, this));
        _server = new global::SmtpServer.SmtpServer(options, services);
        _running = _server.StartAsync(_stop.Token);
        WaitUntilListening();
    }

    public int Port { get; }

    /// <summary>Whether the server closes the connection once it has read the message, before it replies.</summary>
    public bool DropAfterData { get; }

    public ConcurrentQueue<MimeMessage> Dropped { get; } = new();

    public ConcurrentQueue<MimeMessage> Messages { get; } = new();

    public ConcurrentQueue<string> Recipients { get; } = new();

    public SmtpChannelOptions Options(Action<SmtpChannelOptions>? configure = null)
    {
        var options = new SmtpChannelOptions { Host = "127.0.0.1", Port = Port, Tls = SmtpTlsMode.None, Timeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        return options;
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _server.Shutdown();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private void WaitUntilListening()
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                Thread.Sleep(20);
            }
        }
    }

    private sealed class Filter(Func<IMailbox, Task>? onSender, Func<IMailbox, Task>? onRecipient, TestSmtpServer server) : IMailboxFilter
    {
        public async Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
        {
            if (onSender is not null)
            {
                await onSender(from);
            }

            return true;
        }

        public async Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            if (onRecipient is not null)
            {
                await onRecipient(to);
            }

            server.Recipients.Enqueue(to.User + "@" + to.Host);
            return true;
        }
    }

    private sealed class Store(Func<MimeMessage, Task<SmtpResponse>>? onMessage, TestSmtpServer server) : IMessageStore
    {
        public async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            if (server.DropAfterData)
            {
                // The whole message arrived; the connection goes before any reply.
                server.Dropped.Enqueue(message);
                context.Pipe.Dispose();
                throw new IOException("Connection dropped by the test.");
            }

            var response = onMessage is null ? SmtpResponse.Ok : await onMessage(message);
            if (response.ReplyCode == SmtpReplyCode.Ok)
            {
                server.Messages.Enqueue(message);
            }

            return response;
        }
    }
}
