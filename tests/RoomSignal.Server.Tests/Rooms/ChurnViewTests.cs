using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Server.Rooms;
using RoomSignal.Testing;
using Xunit.Abstractions;

namespace RoomSignal.Server.Tests.Rooms;

/// <summary>Rule 9 on one node: under heavy churn every member sees its rooms' changes once, in order, and ends exact.</summary>
public sealed class ChurnViewTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoHundredPeersChurningInFiftyRoomsSeeEveryChangeOnceAndInOrder()
    {
        await using var node = await RoomSignalNode.StartAsync();
        var store = (InMemoryRoomStore)node.Services.GetRequiredService<IRoomStore>();
        var checker = new RoomViewChecker(contiguousSeq: true);
        var churn = new RoomChurn([node], checker, new RoomChurnOptions { Peers = 200, RoomSize = 4, Duration = TimeSpan.FromSeconds(6) });

        var result = await churn.RunAsync(rooms => Task.FromResult(MembersOf(store, rooms)));

        output.WriteLine(result.ToString());
        output.WriteLine(checker.Report());
        Assert.True(result.Cycles >= 1000, $"the churn should be heavy: {result}");
        Assert.True(result.Disconnects > 0, $"some leaves should be disconnects: {result}");
        Assert.Empty(result.FailedCalls);
        checker.AssertNone();
    }

    private static IReadOnlyDictionary<string, IReadOnlySet<string>> MembersOf(InMemoryRoomStore store, IReadOnlyList<string> rooms)
        => rooms.ToDictionary(r => r, r => (IReadOnlySet<string>)(store.Snapshot(r)?.Members ?? []).ToHashSet(StringComparer.Ordinal));
}
