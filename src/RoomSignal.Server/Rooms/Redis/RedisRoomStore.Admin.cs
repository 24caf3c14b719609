using StackExchange.Redis;

namespace RoomSignal.Server.Rooms.Redis;

// The admin API's view of the cluster: read straight from Redis, so every node answers the same for the whole cluster.
internal sealed partial class RedisRoomStore : IRoomInspector
{
    private const int ScanPageSize = 1000;

    /// <summary>
    /// Every room of the cluster: a <c>SCAN</c> over the room keys (pages of 1,000; it does not block Redis the way
    /// <c>KEYS</c> would), then one pipelined <c>HLEN</c> per room. A room created or emptied while the scan runs may
    /// or may not be listed. Cost grows with the number of keys under the prefix: an operator's call, not a hot path.
    /// </summary>
    public async ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        var rooms = new List<string>();
        var cursor = "0";
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = (RedisResult[])(await db.ExecuteAsync("SCAN", cursor, "MATCH", _keys.RoomMembersPattern, "COUNT", ScanPageSize, "TYPE", "hash"))!;
            cursor = (string)page[0]!;
            foreach (var key in (RedisResult[])page[1]!)
            {
                if (_keys.RoomOfMembersKey((string)key!) is { } room)
                {
                    rooms.Add(room);
                }
            }
        }
        while (cursor != "0");

        var distinct = rooms.Distinct(StringComparer.Ordinal).ToArray(); // SCAN may return a key twice
        var counts = await Task.WhenAll(distinct.Select(room => db.HashLengthAsync(_keys.RoomMembers(room))));
        var summaries = new List<RoomSummary>(distinct.Length);
        for (var i = 0; i < distinct.Length; i++)
        {
            if (counts[i] > 0)
            {
                summaries.Add(new RoomSummary(distinct[i], (int)counts[i]));
            }
        }

        return summaries;
    }

    /// <summary>The members of a room with their nodes, from the room's hash.</summary>
    public async ValueTask<IReadOnlyList<RoomMemberInfo>?> GetMembersAsync(string room, CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        var entries = await db.HashGetAllAsync(_keys.RoomMembers(room));
        return entries.Length == 0 ? null : entries.Select(e => new RoomMemberInfo((string)e.Name!, (string)e.Value!)).ToArray();
    }

    /// <summary>The node a member is connected to, from the room's hash.</summary>
    public async ValueTask<string?> FindMemberNodeAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync(cancellationToken);
        return await db.HashGetAsync(_keys.RoomMembers(room), connectionId);
    }
}
