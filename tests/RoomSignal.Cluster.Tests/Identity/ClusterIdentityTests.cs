using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Identity;

/// <summary>Two nodes with auth on sharing one real Redis.</summary>
public sealed class TwoAuthNodes : TwoNodes
{
    protected override (string Key, string Value)[] Settings => [("RoomSignal:Auth:SigningKey", TestTokens.Key)];
}

/// <summary>A member's user id and name reach the members on other nodes, from every path a peer object takes.</summary>
public sealed class ClusterIdentityTests(TwoAuthNodes cluster) : IClassFixture<TwoAuthNodes>
{
    [Fact]
    public async Task PeersOnAnotherNodeAreListedWithTheirUserIdsAndTellTheirsInJoinedRelaysAndExits()
    {
        var room = TestNames.Unique("who");
        await using var alice = await Peer.ConnectAsync(cluster.NodeA, TestTokens.For("alice", [room], "Alice"));
        var bob = await Peer.ConnectAsync(cluster.NodeB, TestTokens.For("bob", [room], "Bob"));
        await alice.JoinAsync(room);

        var joined = await bob.JoinAsync(room);

        var listed = Assert.Single(joined.Peers);
        Assert.Equal((alice.Id, "alice", "Alice"), (listed.Id, listed.UserId, listed.Name));
        await alice.WaitForJoinedAsync(bob.Id, room);
        Assert.Equal(("bob", "Bob"), (alice.Joined[0].UserId, alice.Joined[0].Name));

        await bob.OfferAsync(alice.Id, room);
        await Eventually.UntilAsync(() => alice.Offers.Count == 1, "the offer from the other node");
        Assert.Equal(("bob", "Bob"), (alice.Offers[0].UserId, alice.Offers[0].Name));

        await bob.DisposeAsync();
        await alice.WaitForExitAsync(bob.Id, room);
        Assert.Equal(("bob", "Bob"), (alice.Exits[0].UserId, alice.Exits[0].Name));
    }

    [Fact]
    public async Task AProfileLivesInRedisWhileConnectedAndIsGoneAfterTheDisconnect()
    {
        var room = TestNames.Unique("profile");
        var carol = await Peer.ConnectAsync(cluster.NodeA, TestTokens.For("carol", [room]));
        await carol.JoinAsync(room);
        var key = $"{cluster.Prefix}:peer:{carol.Id}";
        var db = (await TestCluster.AdminAsync(cluster.Redis)).GetDatabase();
        Assert.Equal("carol", (string?)await db.HashGetAsync(key, "u"));

        await carol.DisposeAsync();

        await Eventually.UntilAsync(async () => !await db.KeyExistsAsync(key), "the profile to be removed");
    }
}

/// <summary>A crashed node's members are announced gone with their user ids (the directory outlives the node long enough).</summary>
public sealed class CrashedNodeIdentityTests
{
    [Fact]
    public async Task TheExitForAMemberOfAKilledNodeCarriesItsUserId()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = TestCluster.UniquePrefix();
        var configuration = TestCluster.NodeConfiguration(redis, prefix, [.. TestCluster.FastSweep, ("RoomSignal:Auth:SigningKey", TestTokens.Key)]);
        await using var doomed = await RoomSignalProcess.StartAsync(configuration);
        await using var survivor = await RoomSignalNode.StartAsync(configuration);
        var room = TestNames.Unique("crash-who");
        await using var a = await Peer.ConnectAsync(doomed, TestTokens.For("dora", [room], "Dora"));
        await using var b = await Peer.ConnectAsync(survivor, TestTokens.For("bob", [room]));
        await a.JoinAsync(room);
        await b.JoinAsync(room);

        await doomed.KillAsync();

        await b.WaitForExitAsync(a.Id, room, TimeSpan.FromSeconds(6));
        Assert.Equal(("dora", "Dora"), (b.Exits[0].UserId, b.Exits[0].Name));
    }
}
