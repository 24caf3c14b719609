using System.Net;
using System.Net.Sockets;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>
/// A TCP proxy on a free loopback port in front of a server, to break a client's network on demand: reset every
/// open connection (<see cref="Cut"/>), reset new ones as they open (<see cref="Refuse"/>), or keep new ones waiting
/// (<see cref="Hold"/>) as a network that is down would. Point a client at <see cref="HubUri"/> instead of the server.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly Lock _gate = new();
    private readonly HashSet<Pair> _pairs = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private TaskCompletionSource _open = Completed();
    private volatile bool _refusing;
    private int _accepted;

    private TcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The port the proxy listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>The proxy's HTTP base address.</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>The hub address through the proxy.</summary>
    public Uri HubUri => RoomSignalEndpointExtensions.HubUriFor(BaseUri);

    /// <summary>How many client connections the proxy has passed through so far (negotiations and transports).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Starts a proxy in front of the server at <paramref name="target"/> (an <c>http://127.0.0.1:port/</c> address).</summary>
    public static TcpProxy Start(Uri target) => new(new IPEndPoint(IPAddress.Parse(target.Host), target.Port));

    /// <summary>Starts a proxy in front of <paramref name="endpoint"/>.</summary>
    public static TcpProxy Start(IRoomSignalEndpoint endpoint) => Start(endpoint.BaseUri);

    /// <summary>Resets every open connection at once (TCP RST both ways), as a dropped network does.</summary>
    public void Cut()
    {
        Pair[] pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var pair in pairs)
        {
            pair.Reset();
        }
    }

    /// <summary>While on, new connections are reset as soon as they open.</summary>
    public void Refuse(bool on) => _refusing = on;

    /// <summary>Keeps every new connection waiting, unforwarded, until <see cref="Restore"/>.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Forwards the held connections and every new one again.</summary>
    public void Restore()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Restore();
        Cut();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
        {
            // Stopping.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        if (_refusing)
        {
            Pair.ResetSocket(client);
            return;
        }

        Task open;
        lock (_gate)
        {
            open = _open.Task;
        }

        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        var pair = new Pair(client, upstream);
        try
        {
            await open.WaitAsync(_stopping.Token);
            if (_refusing)
            {
                pair.Reset();
                return;
            }

            await upstream.ConnectAsync(_target, _stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            pair.Reset();
            return;
        }

        lock (_gate)
        {
            _pairs.Add(pair);
        }

        Interlocked.Increment(ref _accepted);
        await Task.WhenAny(PumpAsync(client, upstream), PumpAsync(upstream, client));
        lock (_gate)
        {
            _pairs.Remove(pair);
        }

        pair.Reset();
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The other side is gone or the test cut the pair.
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private sealed class Pair(Socket client, Socket upstream)
    {
        private int _reset;

        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) == 0)
            {
                ResetSocket(client);
                ResetSocket(upstream);
            }
        }

        public static void ResetSocket(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Not connected: nothing to reset.
            }

            socket.Dispose();
        }
    }
}
