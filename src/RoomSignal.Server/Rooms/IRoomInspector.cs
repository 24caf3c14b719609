namespace RoomSignal.Server.Rooms;

/// <summary>
/// Read-only view of every room for the admin API. Each room store implements it over its own data: the
/// in-memory store over this node's rooms, the Redis store over the whole cluster's.
/// </summary>
internal interface IRoomInspector
{
    /// <summary>Every room that has at least one member, with its member count (unordered).</summary>
    ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(CancellationToken cancellationToken = default);

    /// <summary>The members of <paramref name="room"/>, or <see langword="null"/> when it has none.</summary>
    ValueTask<IReadOnlyList<RoomMemberInfo>?> GetMembersAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>The node <paramref name="connectionId"/> is connected to, if it is a member of <paramref name="room"/>.</summary>
    ValueTask<string?> FindMemberNodeAsync(string room, string connectionId, CancellationToken cancellationToken = default);
}

/// <summary>A room and how many members it has.</summary>
internal sealed record RoomSummary(string Room, int Members);

/// <summary>One member of a room: its connection and the node it is connected to.</summary>
internal sealed record RoomMemberInfo(string ConnectionId, string Node);
