using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Hubs;
using RoomSignal.Testing;
using StackExchange.Redis;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>The RoomSignal server picks the backplane from configuration and relays through it.</summary>
public sealed class RoomSignalWiringTests
{
    private static Dictionary<string, string?> RedisSettings(RedisServer redis, string prefix) => new()
    {
        ["RoomSignal:Redis:Configuration"] = redis.Configuration,
        ["RoomSignal:Redis:Prefix"] = prefix,
    };

    [Theory]
    [InlineData(null)] // the default: the thread pool
    [InlineData("ThreadPool")]
    [InlineData("Dedicated")]
    public async Task AnOfferFromNodeAReachesAConnectionOnNodeBThroughTheBackplaneOnEitherSocketManager(string? socketManager)
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = RedisSettings(redis, "w" + Guid.NewGuid().ToString("N")[..10]);
        settings["RoomSignal:Redis:SocketManager"] = socketManager;
        await using var nodeA = await RoomSignalNode.StartAsync(settings);
        await using var nodeB = await RoomSignalNode.StartAsync(settings);
        Assert.IsType<RedisHubLifetimeManager<RoomHub>>(nodeA.Services.GetRequiredService<HubLifetimeManager<RoomHub>>());
        foreach (var node in new[] { nodeA, nodeB })
        {
            // The shared connection's I/O runs where the setting says: StackExchange.Redis's SocketManager.ThreadPool, or
            // its own dedicated threads (no SocketManager given: its shared default).
            var configuration = node.Services.GetRequiredService<RoomSignal.Redis.Internal.RedisConnection>().Configuration;
            if (socketManager is "Dedicated")
            {
                Assert.Null(configuration.SocketManager);
            }
            else
            {
                Assert.Same(SocketManager.ThreadPool, configuration.SocketManager);
            }
        }

        await using var b = nodeB.CreateHubConnection();
        var offers = new TaskCompletionSource<SdpMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.On<SdpMessage>(RoomClientEvents.Offer, m => offers.TrySetResult(m));
        await b.StartAsync().Within("b to connect to node B");
        var room = TestNames.Unique("wiring");
        var joined = await b.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("b to join");

        var hub = nodeA.Services.GetRequiredService<IHubContext<RoomHub, IRoomClient>>();
        var sent = new SdpMessage("peer-on-a", joined.Id, room, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
        await hub.Clients.Client(joined.Id).Offer(sent).Within("node A to send the offer");

        var received = await offers.Task.Within("b to receive the offer from node A");
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task DisposingTheBackplaneLeavesTheSharedConnectionToTheRoomStore()
    {
        // The official backplane's Dispose unsubscribes everything and disposes its multiplexer. It gets a non-owning
        // view of the shared one, so the room store (which drains on SIGTERM after the hub may be gone) keeps both.
        await using var redis = await RedisServer.StartAsync();
        var settings = RedisSettings(redis, "d" + Guid.NewGuid().ToString("N")[..10]);
        await using var nodeA = await RoomSignalNode.StartAsync(settings);
        await using var nodeB = await RoomSignalNode.StartAsync(settings);
        await using var a = nodeA.CreateHubConnection();
        await a.StartAsync().Within("a to connect to node A");
        var room = TestNames.Unique("dispose");
        await a.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("a to join");

        ((IDisposable)nodeA.Services.GetRequiredService<HubLifetimeManager<RoomHub>>()).Dispose();

        var shared = nodeA.Services.GetRequiredService<RoomSignal.Redis.IRedisConnection>();
        Assert.True(shared.IsConnected);
        var multiplexer = await shared.GetMultiplexerAsync();
        Assert.NotNull(multiplexer.GetSubscriber().SubscribedEndpoint(shared.Keys.RoomChangesChannel));
        await multiplexer.GetDatabase().PingAsync().Within("the shared connection to answer");

        // Redis itself still counts node A's room store among the listeners to room changes (A and B).
        using var admin = await redis.ConnectAsync();
        var listeners = (RedisResult[])(await admin.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", shared.Keys.OnServer(shared.Keys.RoomChangesChannel)))!;
        Assert.Equal(2, (long)listeners[1]);
    }

    [Fact]
    public async Task AnUnknownSocketManagerStopsTheNodeFromStartingWithAMessageNamingTheKey()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = RedisSettings(redis, "s" + Guid.NewGuid().ToString("N")[..10]);
        settings["RoomSignal:Redis:SocketManager"] = "Inline";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RoomSignalNode.StartAsync(settings));

        Assert.Contains("RoomSignal:Redis:SocketManager", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutRedisConfiguredTheServerKeepsTheDefaultManagerAndIsReady()
    {
        await using var node = await RoomSignalNode.StartAsync();

        Assert.IsType<DefaultHubLifetimeManager<RoomHub>>(node.Services.GetRequiredService<HubLifetimeManager<RoomHub>>());
        using var http = new HttpClient { BaseAddress = node.BaseUri };
        Assert.Equal(200, (int)(await http.GetAsync("readyz").Within("/readyz")).StatusCode);
    }

    [Fact]
    public async Task TheServersReadinessFollowsRedis()
    {
        await using var redis = await RedisServer.StartOwnedAsync();
        await using var node = await RoomSignalNode.StartAsync(RedisSettings(redis, "r" + Guid.NewGuid().ToString("N")[..10]));
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        async Task<int> ReadyAsync() => (int)(await http.GetAsync("readyz")).StatusCode;

        await Eventually.UntilAsync(async () => await ReadyAsync() == 200, "/readyz to be 200 with Redis up");
        await redis.KillAsync();
        await Eventually.UntilAsync(async () => await ReadyAsync() == 503, "/readyz to be 503 with Redis down");
        await redis.RestartAsync();
        await Eventually.UntilAsync(async () => await ReadyAsync() == 200, "/readyz to be 200 again after Redis is back");
    }
}
