using System.Collections.Concurrent;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Events;

namespace RoomSignal.Server.Tests.Rooms;

public sealed class InMemoryRoomStoreTests
{
    private readonly RecordingSink _events = new();
    private readonly InMemoryRoomStore _store;

    public InMemoryRoomStoreTests() => _store = new InMemoryRoomStore(_events);

    [Fact]
    public async Task JoiningReturnsTheMembersThatWereThereBefore()
    {
        var first = await _store.JoinAsync("r", "a", 16);
        Assert.Equal(RoomJoinStatus.Joined, first.Status);
        Assert.Empty(first.Peers);
        Assert.Equal(["a"], (await _store.JoinAsync("r", "b", 16)).Peers);
        Assert.Equal(["a", "b"], (await _store.JoinAsync("r", "c", 16)).Peers.Order());
    }

    [Fact]
    public async Task JoiningAgainChangesNothingAndReturnsTheOtherMembers()
    {
        await _store.JoinAsync("r", "a", 16);
        await _store.JoinAsync("r", "b", 16);

        var again = await _store.JoinAsync("r", "b", 16);

        Assert.Equal(RoomJoinStatus.AlreadyMember, again.Status);
        Assert.Equal(["a"], again.Peers);
        Assert.Equal(["a", "b"], (await _store.JoinAsync("r", "c", 16)).Peers.Order());
    }

    [Fact]
    public async Task AFullRoomRefusesANewcomerButNotAMemberJoiningAgain()
    {
        await _store.JoinAsync("r", "a", 2);
        await _store.JoinAsync("r", "b", 2);

        Assert.Equal(RoomJoinStatus.RoomFull, (await _store.JoinAsync("r", "c", 2)).Status);
        Assert.Empty((await _store.JoinAsync("r", "c", 2)).Peers);
        Assert.Equal(RoomJoinStatus.AlreadyMember, (await _store.JoinAsync("r", "b", 2)).Status);
        Assert.False(await _store.AreMembersAsync("r", "a", "c"));
    }

    [Fact]
    public async Task LeavingReturnsWhoRemainsOrNullForANonMember()
    {
        await _store.JoinAsync("r", "a", 16);
        await _store.JoinAsync("r", "b", 16);

        Assert.Null(await _store.LeaveAsync("r", "stranger"));
        Assert.Null(await _store.LeaveAsync("other", "a"));
        Assert.Equal(["b"], await _store.LeaveAsync("r", "a"));
        Assert.Equal([], await _store.LeaveAsync("r", "b"));
        Assert.Null(await _store.LeaveAsync("r", "b"));
        Assert.Empty((await _store.JoinAsync("r", "c", 16)).Peers);
    }

    [Fact]
    public async Task LeavingAllRoomsReportsEveryRoomWithItsRemainingMembers()
    {
        await _store.JoinAsync("one", "a", 16);
        await _store.JoinAsync("two", "a", 16);
        await _store.JoinAsync("two", "b", 16);
        await _store.JoinAsync("three", "b", 16);

        var departures = await _store.LeaveAllAsync("a");

        Assert.Equal(
            ["one:", "two:b"],
            departures.Select(d => $"{d.Room}:{string.Join(',', d.RemainingMembers)}").Order(StringComparer.Ordinal));
        Assert.Empty(await _store.LeaveAllAsync("a"));
        Assert.False(await _store.AreMembersAsync("two", "a", "b"));
        Assert.True(await _store.AreMembersAsync("three", "b", "b"));
    }

    [Fact]
    public async Task AreMembersIsTrueOnlyWhenBothAreInThatRoom()
    {
        await _store.JoinAsync("r", "a", 16);
        await _store.JoinAsync("r", "b", 16);
        await _store.JoinAsync("s", "c", 16);

        Assert.True(await _store.AreMembersAsync("r", "a", "b"));
        Assert.True(await _store.AreMembersAsync("r", "a", "a"));
        Assert.False(await _store.AreMembersAsync("r", "a", "c"));
        Assert.False(await _store.AreMembersAsync("s", "a", "c"));
        Assert.False(await _store.AreMembersAsync("nowhere", "a", "b"));
    }

    [Fact]
    public async Task ManyConcurrentJoinsNeverExceedCapacityAndSeeOneOrder()
    {
        const int capacity = 10;
        const int joiners = 500;
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, joiners).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return (Id: $"c{i}", Result: await _store.JoinAsync("crowded", $"c{i}", capacity));
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));

        var admitted = results.Where(r => r.Result.Status == RoomJoinStatus.Joined).ToArray();
        Assert.Equal(capacity, admitted.Length);
        Assert.Equal(joiners - capacity, results.Count(r => r.Result.Status == RoomJoinStatus.RoomFull));

        // Atomic joins form one sequence: the k-th admitted saw exactly the k-1 admitted before it.
        var ordered = admitted.OrderBy(a => a.Result.Peers.Count).ToArray();
        for (var k = 0; k < ordered.Length; k++)
        {
            Assert.Equal(ordered.Take(k).Select(a => a.Id).Order(), ordered[k].Result.Peers.Order());
        }
    }

    [Fact]
    public async Task ConcurrentJoinsAndLeavesOfManyRoomsLeaveNothingBehind()
    {
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var id = $"c{i}";
            for (var round = 0; round < 20; round++)
            {
                await _store.JoinAsync($"room{round % 5}", id, 1000);
                await _store.JoinAsync($"room{(round + 1) % 5}", id, 1000);
                await _store.LeaveAsync($"room{round % 5}", id);
            }

            await _store.LeaveAllAsync(id);
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(20));

        for (var r = 0; r < 5; r++)
        {
            Assert.Empty((await _store.JoinAsync($"room{r}", "probe", 1000)).Peers);
        }
    }

    [Fact]
    public async Task EveryChangeOfARoomGetsTheRoomsNextSeqAndIsHandedOnInThatOrder()
    {
        Assert.Equal(1, (await _store.JoinAsync("r", "a", 16)).Seq);
        Assert.Equal(2, (await _store.JoinAsync("r", "b", 16)).Seq);
        Assert.Equal(1, (await _store.JoinAsync("other", "a", 16)).Seq); // per room
        var again = await _store.JoinAsync("r", "b", 16);
        Assert.Equal((RoomJoinStatus.AlreadyMember, 2L), (again.Status, again.Seq)); // no change, the current seq
        Assert.Equal(0, (await _store.JoinAsync("r", "c", 2)).Seq); // full: no change
        await _store.LeaveAsync("r", "a");
        await _store.LeaveAllAsync("b"); // the last member: nobody to tell, the room is gone
        Assert.Equal(1, (await _store.JoinAsync("r", "d", 16)).Seq); // a new room under the old name

        Assert.Equal(
            ["r 1 Joined a [] -> []", "r 2 Joined b [a] -> [a]", "other 1 Joined a [] -> []", "r 2 Rejoined b [a] -> []",
             "r 3 Left a [] -> [b]", "r 1 Joined d [] -> []"],
            _events.Events.Select(Describe));
    }

    [Fact]
    public async Task ConcurrentChangesOfOneRoomAreHandedOnInSeqOrderWithNoGap()
    {
        var tasks = Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                await _store.JoinAsync("busy", $"c{i}", 1000);
                await _store.LeaveAsync("busy", $"c{i}");
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(20));

        // The room empties now and then and starts over at 1; within each life the seqs run 1, 2, 3, ... in order.
        var expected = 0L;
        foreach (var e in _events.Events.Where(e => e.Room == "busy"))
        {
            expected = e.Seq == 1 && e.Kind == RoomEventKind.Joined && e.Peers.Count == 0 ? 1 : expected + 1;
            Assert.Equal(expected, e.Seq);
        }
    }

    private static string Describe(RoomEvent e)
        => $"{e.Room} {e.Seq} {e.Kind} {e.Subject} [{string.Join(',', e.Peers.Order())}] -> [{string.Join(',', e.Recipients.Order())}]";

    /// <summary>Records what the store hands on, in the order it does.</summary>
    private sealed class RecordingSink : IRoomEventSink
    {
        private readonly ConcurrentQueue<RoomEvent> _events = new();

        public IReadOnlyList<RoomEvent> Events => _events.ToArray();

        public Task Enqueue(RoomEvent roomEvent)
        {
            _events.Enqueue(roomEvent);
            return Task.CompletedTask;
        }
    }
}
