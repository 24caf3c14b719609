using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Server;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Events;
using RoomSignal.Server.Rooms.Redis;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Membership;

/// <summary>
/// The Redis store keeps the <see cref="IRoomStore"/> contract the in-memory store keeps, with its connections
/// spread over two store instances (two nodes) sharing one real Redis.
/// </summary>
public sealed class RedisRoomStoreTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ServiceProvider _services1 = null!;
    private ServiceProvider _services2 = null!;
    private readonly string _prefix = TestCluster.UniquePrefix();

    private RedisRoomStore Node1 => _services1.GetRequiredService<RedisRoomStore>();

    private RedisRoomStore Node2 => _services2.GetRequiredService<RedisRoomStore>();

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _services1 = BuildNode("store-node-1");
        _services2 = BuildNode("store-node-2");
    }

    public async Task DisposeAsync()
    {
        await _services1.DisposeAsync();
        await _services2.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task JoiningOnEitherNodeReturnsTheMembersThatWereThereBefore()
    {
        var first = await Node1.JoinAsync("r", "a", 16);
        Assert.Equal(RoomJoinStatus.Joined, first.Status);
        Assert.Empty(first.Peers);
        Assert.Equal(["a"], (await Node2.JoinAsync("r", "b", 16)).Peers);
        Assert.Equal(["a", "b"], (await Node1.JoinAsync("r", "c", 16)).Peers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task JoiningAgainChangesNothingAndReturnsTheOtherMembers()
    {
        await Node1.JoinAsync("r", "a", 16);
        await Node2.JoinAsync("r", "b", 16);

        var again = await Node2.JoinAsync("r", "b", 16);

        Assert.Equal(RoomJoinStatus.AlreadyMember, again.Status);
        Assert.Equal(["a"], again.Peers);
        Assert.Equal(["a", "b"], (await Node1.JoinAsync("r", "c", 16)).Peers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AFullRoomRefusesANewcomerFromAnyNodeButNotAMemberJoiningAgain()
    {
        await Node1.JoinAsync("r", "a", 2);
        await Node2.JoinAsync("r", "b", 2);

        Assert.Equal(RoomJoinStatus.RoomFull, (await Node1.JoinAsync("r", "c", 2)).Status);
        Assert.Empty((await Node2.JoinAsync("r", "d", 2)).Peers);
        Assert.Equal(RoomJoinStatus.AlreadyMember, (await Node2.JoinAsync("r", "b", 2)).Status);
        Assert.False(await Node1.AreMembersAsync("r", "a", "c"));
    }

    [Fact]
    public async Task LeavingReturnsWhoRemainsOrNullForANonMember()
    {
        await Node1.JoinAsync("r", "a", 16);
        await Node2.JoinAsync("r", "b", 16);

        Assert.Null(await Node1.LeaveAsync("r", "stranger"));
        Assert.Null(await Node1.LeaveAsync("other", "a"));
        Assert.Equal(["b"], await Node1.LeaveAsync("r", "a"));
        Assert.Equal([], await Node2.LeaveAsync("r", "b"));
        Assert.Null(await Node2.LeaveAsync("r", "b"));
        Assert.Empty((await Node1.JoinAsync("r", "c", 16)).Peers);
    }

    [Fact]
    public async Task LeavingAllRoomsReportsEveryRoomWithItsRemainingMembers()
    {
        await Node1.JoinAsync("one", "a", 16);
        await Node1.JoinAsync("two", "a", 16);
        await Node2.JoinAsync("two", "b", 16);
        await Node2.JoinAsync("three", "b", 16);

        var departures = await Node1.LeaveAllAsync("a");

        Assert.Equal(
            ["one:", "two:b"],
            departures.Select(d => $"{d.Room}:{string.Join(',', d.RemainingMembers)}").Order(StringComparer.Ordinal));
        Assert.Empty(await Node1.LeaveAllAsync("a"));
        Assert.False(await Node1.AreMembersAsync("two", "a", "b")); // the leaver's own node knows at once
        await Eventually.UntilAsync( // the other node as soon as the change arrives on the channel
            async () => !await Node2.AreMembersAsync("two", "b", "a"),
            "node 2 to learn that a left");
        Assert.True(await Node2.AreMembersAsync("three", "b", "b"));
    }

    [Fact]
    public async Task AreMembersIsTrueOnlyWhenBothAreInThatRoomWhicheverNodeTheTargetIsOn()
    {
        await Node1.JoinAsync("r", "a", 16);
        await Node2.JoinAsync("r", "b", 16);
        await Node2.JoinAsync("s", "c", 16);

        Assert.True(await Node1.AreMembersAsync("r", "a", "b"));
        Assert.True(await Node2.AreMembersAsync("r", "b", "a"));
        Assert.True(await Node1.AreMembersAsync("r", "a", "a"));
        Assert.False(await Node1.AreMembersAsync("r", "a", "c"));
        Assert.False(await Node2.AreMembersAsync("s", "c", "a"));
        Assert.False(await Node1.AreMembersAsync("nowhere", "a", "b"));
    }

    [Fact]
    public async Task ManyConcurrentJoinsFromTwoNodesNeverExceedCapacityAndSeeOneOrder()
    {
        const int capacity = 10;
        const int joiners = 200;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, joiners).Select(async i =>
        {
            await start.Task;
            var store = i % 2 == 0 ? Node1 : Node2;
            return (Id: $"c{i}", Result: await store.JoinAsync("crowded", $"c{i}", capacity));
        }).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(tasks).Within("200 joins");

        var admitted = results.Where(r => r.Result.Status == RoomJoinStatus.Joined).ToArray();
        Assert.Equal(capacity, admitted.Length);
        Assert.Equal(joiners - capacity, results.Count(r => r.Result.Status == RoomJoinStatus.RoomFull));
        var ordered = admitted.OrderBy(a => a.Result.Peers.Count).ToArray();
        for (var k = 0; k < ordered.Length; k++)
        {
            Assert.Equal(ordered.Take(k).Select(a => a.Id).Order(StringComparer.Ordinal), ordered[k].Result.Peers.Order(StringComparer.Ordinal));
        }
    }

    private ServiceProvider BuildNode(string nodeId)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(TestCluster.NodeConfiguration(_redis, _prefix, ("RoomSignal:NodeId", nodeId)))
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddOptions<RoomSignalOptions>().BindConfiguration(RoomSignalOptions.SectionName);
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<IRoomEventSink, NoEvents>(); // no hub here: these tests look at the store's answers
        services.AddRoomSignalRedisRooms();
        return services.BuildServiceProvider();
    }

    private sealed class NoEvents : IRoomEventSink
    {
        public Task Enqueue(RoomEvent roomEvent) => Task.CompletedTask;
    }
}
