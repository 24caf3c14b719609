using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace RoomSignal.Testing;

/// <summary>
/// A real redis-server for tests: started on a free loopback port with a temp dir and no persistence,
/// or, when <c>REDIS_URL</c> is set, that server (then it cannot be killed or restarted by a test).
/// A missing redis-server binary fails loudly: Redis tests are never skipped.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private Process? _process;
    private readonly string? _dataDir;

    private RedisServer(string host, int port, bool owned)
    {
        Host = host;
        Port = port;
        IsOwned = owned;
        if (owned)
        {
            _dataDir = Directory.CreateTempSubdirectory("roomsignal-redis-").FullName;
        }
    }

    /// <summary>Host the server listens on.</summary>
    public string Host { get; }

    /// <summary>Port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Whether this test run started the process (and so may kill or restart it).</summary>
    public bool IsOwned { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"{Host}:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=3000";

    /// <summary>Uses <c>REDIS_URL</c> when set, otherwise starts a private redis-server.</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (!string.IsNullOrWhiteSpace(url))
        {
            var uri = url.Contains("://", StringComparison.Ordinal) ? new Uri(url) : new Uri("redis://" + url);
            var external = new RedisServer(uri.Host, uri.Port > 0 ? uri.Port : 6379, owned: false);
            await external.WaitUntilAnsweringAsync(cancellationToken);
            return external;
        }

        return await StartOwnedAsync(cancellationToken);
    }

    /// <summary>Always starts a private redis-server, for tests that kill or restart it.</summary>
    public static async Task<RedisServer> StartOwnedAsync(CancellationToken cancellationToken = default)
    {
        var server = new RedisServer("127.0.0.1", FreePort(), owned: true);
        await server.LaunchAsync(cancellationToken);
        return server;
    }

    /// <summary>
    /// An owned server on a reserved free port that is not running yet: nothing listens there until
    /// <see cref="RestartAsync"/> launches it. For tests of nodes that start before Redis ever answered.
    /// </summary>
    public static RedisServer CreateOwnedNotStarted() => new("127.0.0.1", FreePort(), owned: true);

    /// <summary>Kills the process at once (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        EnsureOwned();
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(StartTimeout);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the server (again) on the same port, empty (no persistence).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default)
    {
        EnsureOwned();
        return LaunchAsync(cancellationToken);
    }

    /// <summary>Opens a fresh admin connection (allowAdmin) to inspect or wipe the server.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync()
        => ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (IsOwned)
        {
            await KillAsync();
            try
            {
                Directory.Delete(_dataDir!, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp dir is harmless.
            }
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var binary = FindRedisServer();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--bind", Host, "--save", "", "--appendonly", "no", "--dir", _dataDir!,
                     "--protected-mode", "no", "--loglevel", "warning",
                 })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {binary}.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilAnsweringAsync(cancellationToken);
    }

    private async Task WaitUntilAnsweringAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(Host, Port, cancellationToken);
                await using var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[16];
                using var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                readTimeout.CancelAfter(TimeSpan.FromSeconds(2));
                var read = await stream.ReadAsync(buffer, readTimeout.Token);
                if (read > 0 && buffer[0] == (byte)'+')
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not answering yet.
            }

            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} while starting on port {Port}.");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Redis at {Host}:{Port} did not answer PING within {StartTimeout.TotalSeconds} s.");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private void EnsureOwned()
    {
        if (!IsOwned)
        {
            throw new InvalidOperationException("This Redis comes from REDIS_URL; a test that kills or restarts Redis must use RedisServer.StartOwnedAsync().");
        }
    }

    private static string FindRedisServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]))
        {
            var candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            "redis-server was not found on PATH. Redis tests are not skipped: install it (apt-get install redis-server, which ./scripts/test.sh does) or set REDIS_URL.");
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
