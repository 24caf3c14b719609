using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Infrastructure;

/// <summary>
/// Two in-process nodes sharing one real Redis under a prefix of their own, started once for a test class
/// (an <c>IClassFixture</c>); a subclass names the settings both nodes run with.
/// </summary>
public abstract class TwoNodes : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public string Prefix { get; } = TestCluster.UniquePrefix();

    public RoomSignalNode NodeA { get; private set; } = null!;

    public RoomSignalNode NodeB { get; private set; } = null!;

    /// <summary>Settings both nodes get on top of <see cref="TestCluster.NodeConfiguration"/>.</summary>
    protected abstract (string Key, string Value)[] Settings { get; }

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        var configuration = TestCluster.NodeConfiguration(Redis, Prefix, Settings);
        NodeA = await RoomSignalNode.StartAsync(configuration);
        NodeB = await RoomSignalNode.StartAsync(configuration);
    }

    public async Task DisposeAsync()
    {
        await NodeA.DisposeAsync();
        await NodeB.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
