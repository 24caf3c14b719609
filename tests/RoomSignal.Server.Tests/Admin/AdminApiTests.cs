using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Admin;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Admin;

/// <summary>One node with the admin API on (and at most two rooms per connection), shared by the class.</summary>
public sealed class AdminNodeFixture : IAsyncLifetime
{
    public RoomSignalNode Node { get; private set; } = null!;

    public string NodeId => Node.Services.GetRequiredService<NodeIdentity>().Id;

    public async Task InitializeAsync() => Node = await RoomSignalNode.StartAsync(new Dictionary<string, string?>
    {
        ["RoomSignal:Admin:Key"] = AdminClient.TestKey,
        ["RoomSignal:Limits:MaxRoomsPerConnection"] = "2",
    });

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>The admin API on a single node (in-memory rooms): auth, listing, detail, removing members and rooms.</summary>
public sealed class AdminApiTests(AdminNodeFixture fixture) : IClassFixture<AdminNodeFixture>
{
    private readonly RoomSignalNode _node = fixture.Node;

    [Fact]
    public async Task WithoutAKeyConfiguredTheAdminRoutesDoNotExist()
    {
        await using var node = await RoomSignalNode.StartAsync();
        using var admin = new AdminClient(node);
        await using var a = await TestPeer.ConnectAsync(node);
        var room = TestNames.Unique("nokey");
        await a.JoinAsync(room);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, "admin/rooms")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, $"admin/rooms/{room}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Delete, $"admin/rooms/{room}/members/{a.Id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Delete, $"admin/rooms/{room}")).Status);
        Assert.Empty(a.All<RemovedFromRoom>(RoomClientEvents.Removed));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key-wrong-key-wrong-key")]
    [InlineData(AdminClient.TestKey + "x")]
    [InlineData("test-admin-key")]
    public async Task NoKeyOrAWrongKeyIsRefusedWith401AndAJsonProblem(string? key)
    {
        await using var a = await TestPeer.ConnectAsync(_node);
        var room = TestNames.Unique("auth");
        await a.JoinAsync(room);
        using var admin = new AdminClient(_node, key);

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "admin/rooms"), (HttpMethod.Get, $"admin/rooms/{room}"),
            (HttpMethod.Delete, $"admin/rooms/{room}/members/{a.Id}"), (HttpMethod.Delete, $"admin/rooms/{room}"),
        })
        {
            var (status, body, type) = await admin.SendAsync(method, path);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("application/problem+json", type);
            Assert.Equal(401, body!.Value.GetProperty("status").GetInt32());
        }

        Assert.Empty(a.All<RemovedFromRoom>(RoomClientEvents.Removed));
        using var good = new AdminClient(_node);
        Assert.Single((await good.GetRoomAsync(room))!); // nothing was removed
    }

    [Fact]
    public async Task AnotherAuthorizationSchemeIsRefused()
    {
        using var http = new HttpClient { BaseAddress = _node.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/rooms");
        request.Headers.TryAddWithoutValidation("Authorization", "Basic " + AdminClient.TestKey);
        using var response = await http.SendAsync(request).Within("GET /admin/rooms");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TheListCountsTheMembersOfEveryRoom()
    {
        await using var a = await TestPeer.ConnectAsync(_node);
        await using var b = await TestPeer.ConnectAsync(_node);
        var big = TestNames.Unique("list-big");
        var small = TestNames.Unique("list-small");
        await a.JoinAsync(big);
        await b.JoinAsync(big);
        await b.JoinAsync(small);
        using var admin = new AdminClient(_node);

        var rooms = await admin.ListRoomsAsync();

        Assert.Equal(2, rooms[big]);
        Assert.Equal(1, rooms[small]);
        await a.Client.ExitAsync(big).Within("exit");
        await b.Client.ExitAsync(small).Within("exit");
        rooms = await admin.ListRoomsAsync();
        Assert.Equal(1, rooms[big]);
        Assert.False(rooms.ContainsKey(small), "an emptied room is not listed");
    }

    [Fact]
    public async Task TheDetailListsEachMemberWithItsNodeAndJoinTime()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await using var a = await TestPeer.ConnectAsync(_node);
        await using var b = await TestPeer.ConnectAsync(_node);
        var room = TestNames.Unique("detail");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        using var admin = new AdminClient(_node);

        var members = (await admin.GetRoomAsync(room))!;

        Assert.Equal([a.Id, b.Id], members.Select(m => m.ConnectionId)); // in joining order
        Assert.All(members, m =>
        {
            Assert.Null(m.UserId); // no auth: nobody has a user id
            Assert.Equal(fixture.NodeId, m.Node);
            Assert.InRange(m.JoinedAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
        });
    }

    [Fact]
    public async Task AnUnknownRoomIs404AndABadRoomName400()
    {
        using var admin = new AdminClient(_node);
        var room = TestNames.Unique("nobody");

        Assert.Null(await admin.GetRoomAsync(room));
        Assert.Equal(HttpStatusCode.NotFound, await admin.RemoveRoomAsync(room));
        Assert.Equal(HttpStatusCode.NotFound, await admin.RemoveMemberAsync(room, "no-such-connection"));
        var (status, body, _) = await admin.SendAsync(HttpMethod.Get, "admin/rooms/bad%20room");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("room:", body!.Value.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ARemovedMemberIsToldWhyStaysConnectedAndCanRejoinWhileTheOthersGetOneExit()
    {
        await using var a = await TestPeer.ConnectAsync(_node);
        await using var b = await TestPeer.ConnectAsync(_node);
        await using var c = await TestPeer.ConnectAsync(_node);
        var room = TestNames.Unique("remove");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await c.JoinAsync(room);
        using var admin = new AdminClient(_node);
        var firstJoin = (await admin.GetRoomAsync(room))!.Single(m => m.ConnectionId == b.Id).JoinedAt!.Value;

        Assert.Equal(HttpStatusCode.NoContent, await admin.RemoveMemberAsync(room, b.Id, "spamming the room"));

        // 204 came after the removal: Redis-free here, so the member list has already changed.
        Assert.Equal([a.Id, c.Id], (await admin.GetRoomAsync(room))!.Select(m => m.ConnectionId));
        var removed = await b.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed);
        Assert.Equal(new RemovedFromRoom(room, "spamming the room"), removed);
        var exitA = await a.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == b.Id);
        var exitC = await c.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.From == b.Id);
        Assert.True(exitA.Seq > 0 && exitA.Seq == exitC.Seq, "the exit carries the room's seq, the same for everyone");
        Assert.Equal(HubConnectionState.Connected, b.Client.State);
        Assert.DoesNotContain(room, b.Client.Rooms);
        Assert.Equal(HttpStatusCode.NotFound, await admin.RemoveMemberAsync(room, b.Id)); // not a member any more

        var again = await b.JoinAsync(room);

        Assert.Equal(new[] { a.Id, c.Id }.Order(StringComparer.Ordinal), again.Peers.Select(p => p.Id).Order(StringComparer.Ordinal));
        // A fresh membership: the detail shows the new join's time, not the removed one's.
        await Eventually.UntilAsync(
            async () => (await admin.GetRoomAsync(room))!.SingleOrDefault(m => m.ConnectionId == b.Id)?.JoinedAt > firstJoin,
            "the rejoin's join time in the detail");
        // The rejoin's joined comes after the exit in the room's order: any second exit would have arrived by now.
        await a.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == b.Id && j.Seq > exitA.Seq);
        await c.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == b.Id && j.Seq > exitC.Seq);
        Assert.Single(a.All<PeerExited>(RoomClientEvents.Exit), e => e.From == b.Id);
        Assert.Single(c.All<PeerExited>(RoomClientEvents.Exit), e => e.From == b.Id);
        Assert.Empty(a.All<RemovedFromRoom>(RoomClientEvents.Removed));
        await b.Client.SendOfferAsync(a.Id, room, "v=0").Within("an offer after rejoining");
        await a.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, o => o.From == b.Id);
    }

    [Fact]
    public async Task TheReasonDefaultsAndIsCapped()
    {
        await using var a = await TestPeer.ConnectAsync(_node);
        var room = TestNames.Unique("reason");
        await a.JoinAsync(room);
        using var admin = new AdminClient(_node);

        var (status, body, _) = await admin.SendAsync(HttpMethod.Delete, $"admin/rooms/{room}/members/{a.Id}?reason={new string('x', AdminOptions.MaxReasonLength + 1)}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("reason:", body!.Value.GetProperty("detail").GetString());
        Assert.Single((await admin.GetRoomAsync(room))!); // refused before anything was removed

        Assert.Equal(HttpStatusCode.NoContent, await admin.RemoveMemberAsync(room, a.Id));
        Assert.Equal(AdminOptions.DefaultReason, (await a.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed)).Reason);
    }

    [Fact]
    public async Task RemovingARoomRemovesEveryMemberTheSameWay()
    {
        await using var a = await TestPeer.ConnectAsync(_node);
        await using var b = await TestPeer.ConnectAsync(_node);
        await using var c = await TestPeer.ConnectAsync(_node);
        var room = TestNames.Unique("clear");
        var other = TestNames.Unique("kept");
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        await c.JoinAsync(room);
        await c.JoinAsync(other);
        using var admin = new AdminClient(_node);

        Assert.Equal(HttpStatusCode.NoContent, await admin.RemoveRoomAsync(room, "closing time"));

        Assert.Null(await admin.GetRoomAsync(room));
        foreach (var peer in new[] { a, b, c })
        {
            Assert.Equal(new RemovedFromRoom(room, "closing time"), await peer.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed));
            Assert.Equal(HubConnectionState.Connected, peer.Client.State);
            Assert.DoesNotContain(room, peer.Client.Rooms);
        }

        Assert.Equal([other], c.Client.Rooms); // its other room is untouched
        Assert.Equal(1, (await admin.ListRoomsAsync())[other]);
    }

    [Fact]
    public async Task RoomsTakenAwayByAnAdminNoLongerCountAgainstTheRoomsLimit()
    {
        // The node allows two rooms per connection; after three removals the connection can still join two.
        await using var a = await TestPeer.ConnectAsync(_node);
        using var admin = new AdminClient(_node);
        for (var i = 0; i < 3; i++)
        {
            var room = TestNames.Unique("limit");
            await a.JoinAsync(room);
            Assert.Equal(HttpStatusCode.NoContent, await admin.RemoveMemberAsync(room, a.Id));
            await a.WaitForAsync<RemovedFromRoom>(RoomClientEvents.Removed, r => r.Room == room);
        }

        await a.JoinAsync(TestNames.Unique("limit"));
        await a.JoinAsync(TestNames.Unique("limit"));
        var third = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => a.JoinAsync(TestNames.Unique("limit")));
        Assert.StartsWith("rooms:", third.Message);
    }
}
