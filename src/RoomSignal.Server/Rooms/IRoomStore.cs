namespace RoomSignal.Server.Rooms;

/// <summary>
/// Where room membership lives. The hub talks only to this interface, so the in-memory store
/// (one node) and the Redis store (a cluster) are interchangeable in DI.
/// </summary>
/// <remarks>
/// <para>
/// A store also sends the membership events (<c>created</c>, <c>joined</c>, <c>exit</c>) itself, through the room
/// event dispatcher, in each room's change order; <see cref="JoinAsync"/> returns once the joiner's <c>created</c> has
/// been written, with the same peers and seq.
/// </para>
/// <para>
/// Every operation is atomic with respect to the others for the same room: two concurrent
/// joins are ordered, so exactly one of them sees the other in its peers, and a room never
/// holds more than the capacity passed to <see cref="JoinAsync"/>.
/// </para>
/// </remarks>
public interface IRoomStore
{
    /// <summary>
    /// Adds <paramref name="connectionId"/> to <paramref name="room"/> unless the room already holds
    /// <paramref name="capacity"/> members, and returns the members that were there before it.
    /// Joining a room the connection is already in changes nothing and returns the current peers.
    /// </summary>
    ValueTask<RoomJoinResult> JoinAsync(string room, string connectionId, int capacity, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes <paramref name="connectionId"/> from <paramref name="room"/>.
    /// Returns the members that remain (to be told), or <see langword="null"/> when it was not a member.
    /// </summary>
    ValueTask<IReadOnlyList<string>?> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="connectionId"/> from every room it is in; one entry per room left.</summary>
    ValueTask<IReadOnlyList<RoomDeparture>> LeaveAllAsync(string connectionId, CancellationToken cancellationToken = default);

    /// <summary>Whether both connections are members of <paramref name="room"/>. Called on every relay: keep it cheap.</summary>
    ValueTask<bool> AreMembersAsync(string room, string firstConnectionId, string secondConnectionId, CancellationToken cancellationToken = default);
}

/// <summary>How a join ended.</summary>
public enum RoomJoinStatus
{
    /// <summary>The connection was added.</summary>
    Joined,

    /// <summary>The connection was already a member; nothing changed.</summary>
    AlreadyMember,

    /// <summary>The room is at capacity; the connection was not added.</summary>
    RoomFull,
}

/// <summary>The outcome of <see cref="IRoomStore.JoinAsync"/>.</summary>
/// <param name="Status">How the join ended.</param>
/// <param name="Peers">The other members (empty when the room is full).</param>
/// <param name="Seq">The room's change number of the join (of the current state for an already-member; 0 when full or unknown).</param>
public sealed record RoomJoinResult(RoomJoinStatus Status, IReadOnlyList<string> Peers, long Seq = 0);

/// <summary>One room a connection left, and who is still there to be told.</summary>
/// <param name="Room">The room left.</param>
/// <param name="RemainingMembers">Members that remain in the room.</param>
public sealed record RoomDeparture(string Room, IReadOnlyList<string> RemainingMembers);
