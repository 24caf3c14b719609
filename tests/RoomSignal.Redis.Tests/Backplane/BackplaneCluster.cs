using RoomSignal.Testing;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Several <see cref="TestHubNode"/>s sharing one Redis under a prefix unique to the test.</summary>
public sealed class BackplaneCluster : IAsyncDisposable
{
    private readonly List<TestClient> _clients = [];

    private BackplaneCluster(string prefix, IReadOnlyList<TestHubNode> nodes)
    {
        Prefix = prefix;
        Nodes = nodes;
    }

    public string Prefix { get; }

    public IReadOnlyList<TestHubNode> Nodes { get; }

    public TestHubNode this[int index] => Nodes[index];

    public static async Task<BackplaneCluster> StartAsync(RedisServer redis, int nodes, IReadOnlyDictionary<string, string?>? configuration = null)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var started = await Task.WhenAll(Enumerable.Range(0, nodes)
            .Select(i => TestHubNode.StartAsync(((char)('A' + i)).ToString(), redis.Configuration, prefix, configuration)));

        // As a load balancer waits for /readyz: a node whose broadcast subscription Redis has not confirmed yet
        // would miss broadcasts sent in that window (see docs/backplane.md).
        try
        {
            await Eventually.UntilAsync(async () => (await Task.WhenAll(started.Select(n => n.Status.CheckAsync()))).All(r => r), "every node's backplane to be ready", TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException ex)
        {
            var logs = started.SelectMany(n => n.Logs.Entries.Where(e => e.Category.StartsWith("RoomSignal", StringComparison.Ordinal) || e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => $"{n.Name} {e.Level} {e.Category}: {e.Message}"));
            throw new TimeoutException(ex.Message + Environment.NewLine + string.Join(Environment.NewLine, logs.TakeLast(40)), ex);
        }
        return new BackplaneCluster(prefix, started);
    }

    /// <summary>Connects one client to each node in turn: client i on node i % nodes.</summary>
    public async Task<TestClient[]> ConnectAsync(int count, Func<int, string?>? user = null)
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, count)
            .Select(i => Nodes[i % Nodes.Count].ConnectAsync("c" + i, user?.Invoke(i))));
        lock (_clients)
        {
            _clients.AddRange(clients);
        }

        return clients;
    }

    /// <summary>
    /// Sends a broadcast from <paramref name="sender"/> and waits until every live client has it. Messages that
    /// <paramref name="sender"/> sent before have then reached every connection they were going to reach, since
    /// one node's publishes arrive in order.
    /// </summary>
    public async Task FenceAsync(TestClient sender, IEnumerable<TestClient> clients)
    {
        var fence = TestNames.Unique("fence");
        await sender.InvokeAsync(nameof(BackplaneTestHub.SendAll), fence);
        await Task.WhenAll(clients.Select(c => c.WaitForAsync(fence)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
    }
}

/// <summary>One Redis per test class (REDIS_URL, else a Testcontainers container, else a local redis-server).</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
