namespace RoomSignal.Server.Rooms.Events;

/// <summary>What happened to a room's membership.</summary>
internal enum RoomEventKind
{
    /// <summary><see cref="RoomEvent.Subject"/> joined: it receives <c>created</c>, the other members <c>joined</c>.</summary>
    Joined,

    /// <summary><see cref="RoomEvent.Subject"/> joined again while already a member: it alone receives <c>created</c> (nothing changed).</summary>
    Rejoined,

    /// <summary><see cref="RoomEvent.Subject"/> left (exit, disconnect, sweep, drain): the members that remain receive <c>exit</c>.</summary>
    Left,
}

/// <summary>
/// One membership change of a room as this node delivers it to its own connections. A store hands these to
/// <see cref="RoomEventDispatcher"/> in the room's change order (while it still holds the room's order), and the
/// dispatcher sends each one completely before the next of the same room.
/// </summary>
/// <param name="Room">The room.</param>
/// <param name="Seq">The room's change number of this change (for <see cref="RoomEventKind.Rejoined"/>: the current one).</param>
/// <param name="Kind">What happened.</param>
/// <param name="Subject">The connection that joined or left.</param>
/// <param name="Peers">For a join: the members before it (the subject excluded), as <c>created.peers</c> lists them; otherwise empty.</param>
/// <param name="SubjectIsLocal">Whether the subject is a connection of this node, so that this node sends it <c>created</c>.</param>
/// <param name="Recipients">The other members, connected to this node, that receive <c>joined</c> or <c>exit</c>.</param>
internal sealed record RoomEvent(
    string Room,
    long Seq,
    RoomEventKind Kind,
    string Subject,
    IReadOnlyList<string> Peers,
    bool SubjectIsLocal,
    IReadOnlyList<string> Recipients);
