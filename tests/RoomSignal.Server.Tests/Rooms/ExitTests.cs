using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Rooms;

public sealed class ExitTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private RoomSignalNode Node => fixture.Node;

    [Fact]
    public async Task ExitTellsTheOtherMembersOfThatRoomAndNobodyElse()
    {
        var room = TestNames.Unique("exit");
        var other = TestNames.Unique("exit-other");
        await using var leaver = await TestPeer.ConnectAsync(Node);
        await using var member = await TestPeer.ConnectAsync(Node);
        await using var outsider = await TestPeer.ConnectAsync(Node);
        var left = await leaver.JoinAsync(room);
        await leaver.JoinAsync(other);
        await member.JoinAsync(room);
        await outsider.JoinAsync(other);

        await leaver.Client.ExitAsync(room).Within("exit");

        var exit = await member.WaitForAsync<PeerExited>(RoomClientEvents.Exit, because: "the member to hear of the exit");
        Assert.Equal(new PeerExited(left.Id, room, 3), exit); // after the joins at 1 and 2
        Assert.Empty(leaver.All<PeerExited>(RoomClientEvents.Exit));

        // Positive control for the outsider: it does hear when the leaver exits the room they share.
        await leaver.Client.ExitAsync(other).Within("exit other");
        await outsider.WaitForAsync<PeerExited>(RoomClientEvents.Exit, e => e.Room == other, "the outsider to hear of the exit from its room");
        Assert.Equal([new PeerExited(left.Id, other, 3)], outsider.All<PeerExited>(RoomClientEvents.Exit));
    }

    [Fact]
    public async Task ExitingARoomYouAreNotInChangesNothing()
    {
        var room = TestNames.Unique("notin");
        await using var member = await TestPeer.ConnectAsync(Node);
        await using var stranger = await TestPeer.ConnectAsync(Node);
        var joined = await member.JoinAsync(room);

        await stranger.Client.ExitAsync(room).Within("a stranger's exit");
        await using var late = await TestPeer.ConnectAsync(Node);
        var lateJoin = await late.JoinAsync(room);

        Assert.Equal([joined.Id], lateJoin.Peers.Select(p => p.Id));
        await member.WaitForAsync<PeerJoined>(RoomClientEvents.Joined, j => j.Id == lateJoin.Id, "the member to hear of the late joiner");
        Assert.Empty(member.All<PeerExited>(RoomClientEvents.Exit));
    }

    [Fact]
    public async Task AfterExitTheRoomNoLongerListsTheLeaverAndRelaysToItAreRefused()
    {
        var room = TestNames.Unique("gone");
        await using var a = await TestPeer.ConnectAsync(Node);
        await using var b = await TestPeer.ConnectAsync(Node);
        var aJoined = await a.JoinAsync(room);
        await b.JoinAsync(room);

        await a.Client.ExitAsync(room).Within("a's exit");

        var error = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(
            () => b.Client.SendOfferAsync(aJoined.Id, room, "v=0").Within("the refused offer"));
        Assert.Equal($"to: '{aJoined.Id}' is not a member of room '{room}'", error.Message);
        await using var c = await TestPeer.ConnectAsync(Node);
        var cJoined = await c.JoinAsync(room);
        Assert.DoesNotContain(cJoined.Peers, p => p.Id == aJoined.Id);
    }

    [Fact]
    public async Task DisconnectingSendsExitToTheMembersOfEveryRoomItWasInAndOnlyToThem()
    {
        var first = TestNames.Unique("drop1");
        var second = TestNames.Unique("drop2");
        var unrelated = TestNames.Unique("drop3");
        var leaver = await TestPeer.ConnectAsync(Node);
        await using var inFirst = await TestPeer.ConnectAsync(Node);
        await using var inSecond = await TestPeer.ConnectAsync(Node);
        await using var elsewhere = await TestPeer.ConnectAsync(Node);
        var leaverId = (await leaver.JoinAsync(first)).Id;
        await leaver.JoinAsync(second);
        await inFirst.JoinAsync(first);
        await inSecond.JoinAsync(second);
        await elsewhere.JoinAsync(unrelated);

        await leaver.DisposeAsync();

        await inFirst.WaitForAsync<PeerExited>(RoomClientEvents.Exit, because: "exit in the first room");
        await inSecond.WaitForAsync<PeerExited>(RoomClientEvents.Exit, because: "exit in the second room");
        Assert.Equal([new PeerExited(leaverId, first, 3)], inFirst.All<PeerExited>(RoomClientEvents.Exit));
        Assert.Equal([new PeerExited(leaverId, second, 3)], inSecond.All<PeerExited>(RoomClientEvents.Exit));

        // Positive control for the unrelated client: a departure from its own room does reach it, and it is the only exit it saw.
        await using var neighbour = await TestPeer.ConnectAsync(Node);
        var neighbourId = (await neighbour.JoinAsync(unrelated)).Id;
        await neighbour.DisposeAsync();
        await elsewhere.WaitForAsync<PeerExited>(RoomClientEvents.Exit, because: "the neighbour's exit");
        Assert.Equal([new PeerExited(neighbourId, unrelated, 3)], elsewhere.All<PeerExited>(RoomClientEvents.Exit));

        // The memberships are gone: a newcomer to the first room sees only the member that stayed.
        await using var newcomer = await TestPeer.ConnectAsync(Node);
        var joined = await newcomer.JoinAsync(first);
        Assert.Equal([inFirst.Id], joined.Peers.Select(p => p.Id));
    }
}
