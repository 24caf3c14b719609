using RoomSignal.Server.Rooms.Events;

namespace RoomSignal.Server.Rooms;

/// <summary>
/// The single-node room store: membership in process memory, guarded by one lock, and the membership events
/// sent in each room's change order.
/// </summary>
/// <remarks>
/// Joins and leaves are rare next to relays, and relays only read, so one lock is plenty. Every change gets the
/// room's next <c>seq</c> (1 for the change that creates the room, then 2, 3, ...; a room that empties is gone and
/// one created again under the same name starts at 1) and is handed to the <see cref="RoomEventDispatcher"/>
/// under the same lock, so the events go out in exactly the order of the changes. Each call returns once its
/// own change's events have been written.
/// </remarks>
internal sealed class InMemoryRoomStore(IRoomEventSink events, NodeIdentity? node = null) : IRoomStore, IRoomInspector
{
    private readonly string _nodeId = node?.Id ?? "local";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _roomsByConnection = new(StringComparer.Ordinal);

    public async ValueTask<RoomJoinResult> JoinAsync(string room, string connectionId, int capacity, CancellationToken cancellationToken = default)
    {
        RoomJoinResult result;
        Task sent;
        lock (_gate)
        {
            _rooms.TryGetValue(room, out var members);
            if (members is not null && members.Contains(connectionId))
            {
                var others = members.Others(connectionId);
                result = new RoomJoinResult(RoomJoinStatus.AlreadyMember, others, members.Seq);
                sent = events.Enqueue(new RoomEvent(room, members.Seq, RoomEventKind.Rejoined, connectionId, others, SubjectIsLocal: true, []));
            }
            else if ((members?.Count ?? 0) >= capacity)
            {
                return new RoomJoinResult(RoomJoinStatus.RoomFull, []);
            }
            else
            {
                if (members is null)
                {
                    members = new Room();
                    _rooms[room] = members;
                }

                var peers = members.Snapshot();
                members.Add(connectionId);
                if (!_roomsByConnection.TryGetValue(connectionId, out var rooms))
                {
                    rooms = new HashSet<string>(StringComparer.Ordinal);
                    _roomsByConnection[connectionId] = rooms;
                }

                rooms.Add(room);
                var seq = ++members.Seq;
                result = new RoomJoinResult(RoomJoinStatus.Joined, peers, seq);
                sent = events.Enqueue(new RoomEvent(room, seq, RoomEventKind.Joined, connectionId, peers, SubjectIsLocal: true, peers));
            }
        }

        await sent;
        return result;
    }

    public async ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string>? remaining;
        Task sent;
        lock (_gate)
        {
            remaining = RemoveLocked(room, connectionId, out sent);
            if (remaining is not null && _roomsByConnection.TryGetValue(connectionId, out var rooms))
            {
                rooms.Remove(room);
                if (rooms.Count == 0)
                {
                    _roomsByConnection.Remove(connectionId);
                }
            }
        }

        await sent;
        return remaining;
    }

    public async ValueTask<IReadOnlyList<RoomDeparture>> LeaveAllAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        List<RoomDeparture> departures;
        List<Task> sends;
        lock (_gate)
        {
            if (!_roomsByConnection.Remove(connectionId, out var rooms))
            {
                return [];
            }

            departures = new List<RoomDeparture>(rooms.Count);
            sends = new List<Task>(rooms.Count);
            foreach (var room in rooms)
            {
                if (RemoveLocked(room, connectionId, out var sent) is { } remaining)
                {
                    departures.Add(new RoomDeparture(room, remaining));
                    sends.Add(sent);
                }
            }
        }

        await Task.WhenAll(sends);
        return departures;
    }

    public ValueTask<bool> AreMembersAsync(string room, string firstConnectionId, string secondConnectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var both = _rooms.TryGetValue(room, out var members)
                && members.Contains(firstConnectionId)
                && members.Contains(secondConnectionId);
            return ValueTask.FromResult(both);
        }
    }

    /// <summary>The members of <paramref name="room"/> and its current <c>seq</c>, or <see langword="null"/> when it has none.</summary>
    public (long Seq, string[] Members)? Snapshot(string room)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(room, out var members) ? (members.Seq, members.Snapshot()) : null;
        }
    }

    public ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<RoomSummary>>(_rooms.Select(r => new RoomSummary(r.Key, r.Value.Count)).ToArray());
        }
    }

    public ValueTask<IReadOnlyList<RoomMemberInfo>?> GetMembersAsync(string room, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<RoomMemberInfo>? members = _rooms.TryGetValue(room, out var current)
                ? current.Select(id => new RoomMemberInfo(id, _nodeId)).ToArray()
                : null;
            return ValueTask.FromResult(members);
        }
    }

    public ValueTask<string?> FindMemberNodeAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var member = _rooms.TryGetValue(room, out var members) && members.Contains(connectionId);
            return ValueTask.FromResult(member ? _nodeId : null);
        }
    }

    private IReadOnlyList<string>? RemoveLocked(string room, string connectionId, out Task sent)
    {
        sent = Task.CompletedTask;
        if (!_rooms.TryGetValue(room, out var members) || !members.Remove(connectionId))
        {
            return null;
        }

        if (members.Count == 0)
        {
            _rooms.Remove(room);
            return [];
        }

        var remaining = members.Snapshot();
        sent = events.Enqueue(new RoomEvent(room, ++members.Seq, RoomEventKind.Left, connectionId, [], SubjectIsLocal: true, remaining));
        return remaining;
    }

    /// <summary>A room's members and the number of its last change.</summary>
    private sealed class Room : HashSet<string>
    {
        public Room()
            : base(StringComparer.Ordinal)
        {
        }

        public long Seq { get; set; }

        public string[] Snapshot() => [.. this];

        public string[] Others(string connectionId)
            => this.Where(m => !string.Equals(m, connectionId, StringComparison.Ordinal)).ToArray();
    }
}
