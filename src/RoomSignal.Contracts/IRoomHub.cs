namespace RoomSignal.Contracts;

/// <summary>
/// The methods a client invokes on the room hub at <see cref="RoomHubRoutes.Path"/>.
/// The server implements them; the .NET client calls them by these names.
/// </summary>
public interface IRoomHub
{
    /// <summary>Joins <see cref="JoinRoomRequest.Room"/> (idempotent) and returns the members already there.</summary>
    Task<RoomJoined> CreateAndJoinRoom(JoinRoomRequest request);

    /// <summary>Leaves a room; the other members receive <see cref="IRoomClient.Exit"/>.</summary>
    Task Exit(ExitRoomRequest request);

    /// <summary>Relays an SDP offer to another member of the same room.</summary>
    Task Offer(SdpRequest request);

    /// <summary>Relays an SDP answer to another member of the same room.</summary>
    Task Answer(SdpRequest request);

    /// <summary>Relays an ICE candidate to another member of the same room.</summary>
    Task Candidate(CandidateRequest request);

    /// <summary>
    /// The ICE servers to use (STUN, and TURN with credentials minted for this caller), with their lifetime in seconds.
    /// </summary>
    Task<IceServerList> GetIceServers();
}

/// <summary>
/// The messages the server sends to a client. On the wire the target names are the method
/// names (<c>Created</c>, <c>Joined</c>, ...); the JS client matches them regardless of case.
/// </summary>
public interface IRoomClient
{
    /// <summary>Sent to the caller of <see cref="IRoomHub.CreateAndJoinRoom"/>, with the same payload it returns.</summary>
    Task Created(RoomJoined message);

    /// <summary>Sent to every other member when a connection joins their room.</summary>
    Task Joined(PeerJoined message);

    /// <summary>An SDP offer from another member.</summary>
    Task Offer(SdpMessage message);

    /// <summary>An SDP answer from another member.</summary>
    Task Answer(SdpMessage message);

    /// <summary>An ICE candidate from another member.</summary>
    Task Candidate(CandidateMessage message);

    /// <summary>A member left the room (explicitly, by disconnecting, or removed by an administrator).</summary>
    Task Exit(PeerExited message);

    /// <summary>
    /// This connection was removed from a room by an administrator: it is no longer a member of
    /// <see cref="RemovedFromRoom.Room"/> but stays connected (and may join again).
    /// </summary>
    Task Removed(RemovedFromRoom message);
}
