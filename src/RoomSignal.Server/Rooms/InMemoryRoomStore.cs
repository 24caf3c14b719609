namespace RoomSignal.Server.Rooms;

/// <summary>
/// The single-node room store: membership in process memory, guarded by one lock.
/// Joins and leaves are rare next to relays, and relays only read, so a lock is plenty.
/// </summary>
internal sealed class InMemoryRoomStore : IRoomStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _membersByRoom = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _roomsByConnection = new(StringComparer.Ordinal);

    public ValueTask<RoomJoinResult> JoinAsync(string room, string connectionId, int capacity, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _membersByRoom.TryGetValue(room, out var members);
            if (members is not null && members.Contains(connectionId))
            {
                return ValueTask.FromResult(new RoomJoinResult(RoomJoinStatus.AlreadyMember, Others(members, connectionId)));
            }

            if ((members?.Count ?? 0) >= capacity)
            {
                return ValueTask.FromResult(new RoomJoinResult(RoomJoinStatus.RoomFull, []));
            }

            var peers = members is null ? [] : members.ToArray();
            if (members is null)
            {
                members = new HashSet<string>(StringComparer.Ordinal);
                _membersByRoom[room] = members;
            }

            members.Add(connectionId);
            if (!_roomsByConnection.TryGetValue(connectionId, out var rooms))
            {
                rooms = new HashSet<string>(StringComparer.Ordinal);
                _roomsByConnection[connectionId] = rooms;
            }

            rooms.Add(room);
            return ValueTask.FromResult(new RoomJoinResult(RoomJoinStatus.Joined, peers));
        }
    }

    public ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var remaining = RemoveLocked(room, connectionId);
            if (remaining is not null && _roomsByConnection.TryGetValue(connectionId, out var rooms))
            {
                rooms.Remove(room);
                if (rooms.Count == 0)
                {
                    _roomsByConnection.Remove(connectionId);
                }
            }

            return ValueTask.FromResult(remaining);
        }
    }

    public ValueTask<IReadOnlyList<RoomDeparture>> LeaveAllAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_roomsByConnection.Remove(connectionId, out var rooms))
            {
                return ValueTask.FromResult<IReadOnlyList<RoomDeparture>>([]);
            }

            var departures = new List<RoomDeparture>(rooms.Count);
            foreach (var room in rooms)
            {
                if (RemoveLocked(room, connectionId) is { } remaining)
                {
                    departures.Add(new RoomDeparture(room, remaining));
                }
            }

            return ValueTask.FromResult<IReadOnlyList<RoomDeparture>>(departures);
        }
    }

    public ValueTask<bool> AreMembersAsync(string room, string firstConnectionId, string secondConnectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var both = _membersByRoom.TryGetValue(room, out var members)
                && members.Contains(firstConnectionId)
                && members.Contains(secondConnectionId);
            return ValueTask.FromResult(both);
        }
    }

    private IReadOnlyList<string>? RemoveLocked(string room, string connectionId)
    {
        if (!_membersByRoom.TryGetValue(room, out var members) || !members.Remove(connectionId))
        {
            return null;
        }

        if (members.Count == 0)
        {
            _membersByRoom.Remove(room);
            return [];
        }

        return members.ToArray();
    }

    private static string[] Others(HashSet<string> members, string connectionId)
        => members.Where(m => !string.Equals(m, connectionId, StringComparison.Ordinal)).ToArray();
}
