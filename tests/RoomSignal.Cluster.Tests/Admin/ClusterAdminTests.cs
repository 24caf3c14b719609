using System.Net;
using System.Diagnostics;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Cluster.Tests.Infrastructure;
using RoomSignal.Contracts;
using RoomSignal.Testing;

namespace RoomSignal.Cluster.Tests.Admin;

/// <summary>Two nodes sharing one real Redis, both with the admin API on.</summary>
public sealed class AdminCluster : TwoNodes
{
    protected override (string Key, string Value)[] Settings => [("RoomSignal:Admin:Key", AdminClient.TestKey), ("RoomSignal:Admin:RemoveTimeout", "00:00:03")];

    public static string IdOf(RoomSignalNode node) => node.Services.GetRequiredService<RoomSignal.Server.NodeIdentity>().Id;
}

/// <summary>Any node answers the admin API for the whole cluster and removes members wherever they are connected.</summary>
public sealed class ClusterAdminTests(AdminCluster cluster) : IClassFixture<AdminCluster>
{
    [Fact]
    public async Task NodeBListsAndDetailsTheMembersConnectedToNodeA()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await using var a1 = await TestPeer.ConnectAsync(cluster.NodeA);
        await using var a2 = await TestPeer.ConnectAsync(cluster.NodeA);
        await using var b = await TestPeer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("list");
        var onlyA = TestNames.Unique("only-a");
        await a1.JoinAsync(room);
        await a2.JoinAsync(room);
        await b.JoinAsync(room);
        await a1.JoinAsync(onlyA);
        using var adminB = new AdminClient(cluster.NodeB);
        using var adminA = new AdminClient(cluster.NodeA);

        var rooms = await adminB.ListRoomsAsync();
        Assert.Equal(3, rooms[room]);
        Assert.Equal(1, rooms[onlyA]);
        var fromB = (await adminB.GetRoomAsync(room))!;
        var fromA = (await adminA.GetRoomAsync(room))!;

        Assert.Equal([a1.Id, a2.Id, b.Id], fromB.Select(m => m.ConnectionId)); // in joining order
        Assert.Equal([AdminCluster.IdOf(cluster.NodeA), AdminCluster.IdOf(cluster.NodeA), AdminCluster.IdOf(cluster.NodeB)], fromB.Select(m => m.Node));
        Assert.All(fromB, m => Assert.InRange(m.JoinedAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.Equal(fromA, fromB); // every node answers the same
        Assert.Null(await adminB.GetRoomAsync(TestNames.Unique("none")));
    }

    [Fact]
    public async Task ADeleteOnNodeBRemovesAMemberConnectedToNodeA()
    {
        await using var a = await TestPeer.ConnectAsync(cluster.NodeA);
        await using var otherA = await TestPeer.ConnectAsync(cluster.NodeA);
        await using var b = await TestPeer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("remote");
        await a.JoinAsync(room);
        await otherA.JoinAsync(room);
        await b.JoinAsync(room);
        using var adminB = new AdminClient(cluster.NodeB);

        Assert.Equal(HttpStatusCode.NoContent, await adminB.RemoveMemberAsync(room, a.Id, "from node B"));

        // 204 only once node A has removed it: Redis no longer holds it.
        Assert.Equal(TestCluster.Sorted(otherA.Id, b.Id), await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room));
        Assert.Equal(new RemovedFromRoom(room, "from node B"), await a.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed));
        var exitB = await b.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == a.Id);
        var exitOtherA = await otherA.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == a.Id);
        Assert.True(exitB.Seq > 0 && exitB.Seq == exitOtherA.Seq, "on both nodes the exit carries the room's seq of the removal");
        Assert.Equal(HubConnectionState.Connected, a.Client.State);
        Assert.Equal(HttpStatusCode.NotFound, await adminB.RemoveMemberAsync(room, a.Id));

        // Node A no longer relays for it in that room, and it can join again.
        var refused = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => a.Client.SendOfferAsync(b.Id, room, "v=0"));
        Assert.StartsWith("room:", refused.Message);
        var again = await a.JoinAsync(room);
        Assert.Equal(TestCluster.Sorted(otherA.Id, b.Id), TestCluster.Sorted([.. again.Peers.Select(p => p.Id)]));
        // The rejoin comes after the removal in the room's order: a second exit would have arrived before it.
        await b.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == a.Id && j.Seq > exitB.Seq);
        await otherA.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == a.Id && j.Seq > exitOtherA.Seq);
        await a.Client.SendOfferAsync(b.Id, room, "v=0").Within("an offer across nodes after rejoining");
        await b.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, o => o.From == a.Id);
        Assert.Single(b.All<PeerExited>(RoomClientEvents.Exit), e => e.From == a.Id);
        Assert.Single(otherA.All<PeerExited>(RoomClientEvents.Exit), e => e.From == a.Id);
    }

    [Fact]
    public async Task ADeleteOfARoomOnOneNodeRemovesTheMembersOfBothNodes()
    {
        await using var a = await TestPeer.ConnectAsync(cluster.NodeA);
        await using var b1 = await TestPeer.ConnectAsync(cluster.NodeB);
        await using var b2 = await TestPeer.ConnectAsync(cluster.NodeB);
        var room = TestNames.Unique("clear");
        await a.JoinAsync(room);
        await b1.JoinAsync(room);
        await b2.JoinAsync(room);
        using var adminA = new AdminClient(cluster.NodeA);

        Assert.Equal(HttpStatusCode.NoContent, await adminA.RemoveRoomAsync(room));

        Assert.Empty(await TestCluster.MembersAsync(cluster.Redis, cluster.Prefix, room));
        Assert.Null(await new AdminClient(cluster.NodeB).GetRoomAsync(room));
        foreach (var peer in new[] { a, b1, b2 })
        {
            Assert.Equal(room, (await peer.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed)).Room);
            Assert.Equal(HubConnectionState.Connected, peer.Client.State);
        }

        Assert.False((await adminA.ListRoomsAsync()).ContainsKey(room));
    }

    [Fact]
    public async Task AMemberOnANodeThatDoesNotListenFailsFastWith504()
    {
        // A membership left by a node that is gone (not swept yet): nobody can act on it but the sweep.
        var room = TestNames.Unique("ghost");
        var db = (await TestCluster.AdminAsync(cluster.Redis)).GetDatabase();
        await db.HashSetAsync($"{cluster.Prefix}:room:{room}", "ghost-connection", "gone-node");
        using var admin = new AdminClient(cluster.NodeB);
        try
        {
            var watch = Stopwatch.StartNew();
            var (status, body, _) = await admin.SendAsync(HttpMethod.Delete, $"admin/rooms/{room}/members/ghost-connection");

            Assert.Equal(HttpStatusCode.GatewayTimeout, status);
            Assert.Contains("does not answer", body!.Value.GetProperty("detail").GetString());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"no wait for a node nobody listens for ({watch.Elapsed})");
        }
        finally
        {
            await db.KeyDeleteAsync($"{cluster.Prefix}:room:{room}");
        }
    }
}
