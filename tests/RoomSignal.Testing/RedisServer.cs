using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DotNet.Testcontainers.Configurations;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace RoomSignal.Testing;

/// <summary>
/// A real Redis for tests. <see cref="StartAsync"/> uses, in this order: <c>REDIS_URL</c> when set; a Testcontainers
/// Redis container when a Docker engine answers (image <c>ROOMSIGNAL_TEST_REDIS_IMAGE</c>, built locally by
/// <c>scripts/test.sh</c>); otherwise a local redis-server on a free loopback port with a temp dir and no persistence.
/// <c>ROOMSIGNAL_TEST_REDIS=container</c> demands the container (and fails loudly without Docker), <c>=local</c> skips it.
/// The choice is logged once per run. Only a local redis-server of the test's own (<see cref="StartOwnedAsync"/>) can be
/// killed or restarted. A missing redis-server binary fails loudly: Redis tests are never skipped.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>The image <c>scripts/test.sh</c> builds (debootstrap + docker import) when none is named.</summary>
    public const string DefaultImage = "roomsignal-test-redis:bookworm";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static int _choiceLogged;
    private Process? _process;
    private RedisContainer? _container;
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

    /// <summary>Where this Redis comes from: <c>REDIS_URL</c>, <c>container</c> or <c>local</c>.</summary>
    public string Source { get; private init; } = "local";

    /// <summary>Uses <c>REDIS_URL</c> when set, else a Testcontainers container when Docker answers, else a private redis-server.</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (!string.IsNullOrWhiteSpace(url))
        {
            var uri = url.Contains("://", StringComparison.Ordinal) ? new Uri(url) : new Uri("redis://" + url);
            var external = new RedisServer(uri.Host, uri.Port > 0 ? uri.Port : 6379, owned: false) { Source = "REDIS_URL" };
            LogChoiceOnce($"REDIS_URL ({uri.Host}:{external.Port})");
            await external.WaitUntilAnsweringAsync(cancellationToken);
            return external;
        }

        var mode = (Environment.GetEnvironmentVariable("ROOMSIGNAL_TEST_REDIS") ?? "auto").Trim().ToLowerInvariant();
        if (mode is not ("auto" or "container" or "local"))
        {
            throw new InvalidOperationException($"ROOMSIGNAL_TEST_REDIS must be auto, container or local, not '{mode}'.");
        }

        if (mode == "container" || (mode == "auto" && await DockerAnswersAsync(cancellationToken)))
        {
            return await StartContainerAsync(mode == "container", cancellationToken);
        }

        LogChoiceOnce(mode == "local" ? "a local redis-server (ROOMSIGNAL_TEST_REDIS=local)" : "a local redis-server (no Docker engine answers)");
        return await StartOwnedAsync(cancellationToken);
    }

    private static async Task<RedisServer> StartContainerAsync(bool demanded, CancellationToken cancellationToken)
    {
        var apiVersion = await DockerApiVersionAsync(cancellationToken);
        if (apiVersion is null)
        {
            throw new InvalidOperationException(
                "ROOMSIGNAL_TEST_REDIS=container, but no Docker engine answers on " + DockerSocketPath() + ". Start dockerd (scripts/test.sh does) or unset it.");
        }

        var image = Environment.GetEnvironmentVariable("ROOMSIGNAL_TEST_REDIS_IMAGE") is { Length: > 0 } named ? named : DefaultImage;

        // Nothing can be pulled here: no Ryuk (its image would be pulled), never pull the Redis image either, and
        // publish the port on 127.0.0.1 only. The container keeps its own network namespace because the Redis
        // module's readiness check runs `redis-cli ping` on the default port inside it, which with host networking
        // would ask whatever listens on this machine's 6379.
        // Testcontainers speaks a newer Docker API (1.44) than older engines serve (Debian bookworm's docker.io: 1.41);
        // speak the engine's own unless told otherwise. Read once, when Testcontainers' settings are first touched.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_API_VERSION")))
        {
            Environment.SetEnvironmentVariable("DOCKER_API_VERSION", apiVersion);
        }

        TestcontainersSettings.ResourceReaperEnabled = false;

        LogChoiceOnce($"Testcontainers.Redis (image {image}, Docker API {Environment.GetEnvironmentVariable("DOCKER_API_VERSION")}{(demanded ? ", ROOMSIGNAL_TEST_REDIS=container" : string.Empty)})");
        var container = new RedisBuilder(image)
            .WithImagePullPolicy(inspect => inspect?.ID is null
                ? throw new InvalidOperationException($"The Redis test image {image} is missing and cannot be pulled here; scripts/test.sh builds it (debootstrap + docker import).")
                : false)
            .WithEntrypoint("redis-server")
            .WithCommand("--protected-mode", "no", "--save", "", "--appendonly", "no", "--loglevel", "warning")
            .WithLabel("roomsignal.test", "redis")
            .WithLabel("roomsignal.test.run", Environment.GetEnvironmentVariable("ROOMSIGNAL_TEST_RUN_ID") ?? "manual")
            .WithCreateParameterModifier(p =>
            {
                foreach (var binding in (p.HostConfig?.PortBindings?.Values ?? []).SelectMany(b => b))
                {
                    binding.HostIP = "127.0.0.1";
                }
            })
            .Build();
        try
        {
            await container.StartAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }

        var port = container.GetMappedPublicPort(6379);
        var server = new RedisServer("127.0.0.1", port, owned: false) { Source = "container", _container = container };
        await server.WaitUntilAnsweringAsync(cancellationToken);
        return server;
    }

    /// <summary>Whether a Docker engine answers <c>GET /_ping</c> on its unix socket (<c>DOCKER_HOST</c> or the default).</summary>
    public static async Task<bool> DockerAnswersAsync(CancellationToken cancellationToken = default)
        => await DockerApiVersionAsync(cancellationToken) is not null;

    /// <summary>The API version the Docker engine reports in its answer to <c>GET /_ping</c>, or <see langword="null"/> when none answers.</summary>
    private static async Task<string?> DockerApiVersionAsync(CancellationToken cancellationToken)
    {
        var path = DockerSocketPath();
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
            await socket.SendAsync("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[512];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            var response = Encoding.ASCII.GetString(buffer, 0, read);
            if (!response.Contains(" 200 ", StringComparison.Ordinal))
            {
                return null;
            }

            var header = response.Split("\r\n").FirstOrDefault(l => l.StartsWith("Api-Version:", StringComparison.OrdinalIgnoreCase));
            return header is null ? "1.41" : header["Api-Version:".Length..].Trim();
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static string DockerSocketPath()
        => Environment.GetEnvironmentVariable("DOCKER_HOST") is { } host && host.StartsWith("unix://", StringComparison.Ordinal)
            ? host["unix://".Length..]
            : "/var/run/docker.sock";

    /// <summary>Says once per test run where the shared Redis comes from: on stderr and, when set, in <c>ROOMSIGNAL_TEST_REDIS_LOG</c>.</summary>
    private static void LogChoiceOnce(string choice)
    {
        if (Interlocked.Exchange(ref _choiceLogged, 1) != 0)
        {
            return;
        }

        var line = $"[RoomSignal.Testing] Redis for tests: {choice}";
        Console.Error.WriteLine(line);
        if (Environment.GetEnvironmentVariable("ROOMSIGNAL_TEST_REDIS_LOG") is { Length: > 0 } log)
        {
            File.AppendAllText(log, $"{AppDomain.CurrentDomain.FriendlyName}: {line}{Environment.NewLine}");
        }
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
        if (_container is { } container)
        {
            await container.DisposeAsync();
        }

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
            throw new InvalidOperationException($"This Redis comes from {Source}; a test that kills or restarts Redis must use RedisServer.StartOwnedAsync().");
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
