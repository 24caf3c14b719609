using System.Text.Json.Serialization;

namespace RoomSignal.Contracts;

// Client -> server arguments. Properties are nullable because they arrive from untrusted JSON;
// the server validates every one before use.

/// <summary>Argument of <see cref="IRoomHub.CreateAndJoinRoom"/>.</summary>
/// <param name="Room">The room to join: 1-64 characters of <c>A-Z a-z 0-9 _ . : -</c>.</param>
public sealed record JoinRoomRequest(string? Room);

/// <summary>Argument of <see cref="IRoomHub.Exit"/>.</summary>
/// <param name="Room">The room to leave.</param>
public sealed record ExitRoomRequest(string? Room);

/// <summary>Argument of <see cref="IRoomHub.Offer"/> and <see cref="IRoomHub.Answer"/>.</summary>
/// <param name="To">Connection id of the target member.</param>
/// <param name="Room">The room both sender and target are members of.</param>
/// <param name="Sdp">The session description, at most 64 KiB.</param>
public sealed record SdpRequest(string? To, string? Room, string? Sdp);

/// <summary>Argument of <see cref="IRoomHub.Candidate"/>.</summary>
/// <param name="To">Connection id of the target member.</param>
/// <param name="Room">The room both sender and target are members of.</param>
/// <param name="Candidate">The ICE candidate.</param>
public sealed record CandidateRequest(string? To, string? Room, IceCandidate? Candidate);

/// <summary>An ICE candidate as the browser's <c>RTCIceCandidateInit</c> describes it.</summary>
/// <param name="Candidate">The candidate line; the empty string means end of candidates.</param>
/// <param name="SdpMid">The media stream identification tag.</param>
/// <param name="SdpMLineIndex">The index of the m-line, 0-1023.</param>
/// <param name="UsernameFragment">The ICE username fragment.</param>
public sealed record IceCandidate(string? Candidate, string? SdpMid, int? SdpMLineIndex, string? UsernameFragment);

// Server -> client messages. With auth on, every peer object also carries the member's UserId and Name
// (the sender's, on relayed messages); they are left out of the JSON when null, so with auth off the
// messages are exactly what they were before.

/// <summary>A member of a room, identified by its connection id.</summary>
/// <param name="Id">The member's connection id.</param>
public sealed record PeerInfo(string Id)
{
    /// <summary>The member's user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The member's display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>Result of joining a room, also sent to the joiner as <c>created</c>.</summary>
/// <param name="Id">The caller's own connection id.</param>
/// <param name="Room">The room joined.</param>
/// <param name="Peers">The members already in the room, the caller excluded.</param>
/// <param name="Seq">
/// The room's change number at which <paramref name="Peers"/> was taken: every later <c>joined</c> and
/// <c>exit</c> of this room carries a larger one. 0 from a server (or a cluster, for now) that does not number the changes.
/// </param>
public sealed record RoomJoined(string Id, string Room, IReadOnlyList<PeerInfo> Peers, long Seq = 0)
{
    /// <summary>The caller's own user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The caller's own display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>Sent to the other members when <paramref name="Id"/> joins <paramref name="Room"/>.</summary>
/// <param name="Id">The new member's connection id.</param>
/// <param name="Room">The room.</param>
/// <param name="Seq">The room's change number of this join (increasing per room); 0 from a server (or a cluster, for now) that does not number the changes.</param>
public sealed record PeerJoined(string Id, string Room, long Seq = 0)
{
    /// <summary>The member's user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The member's display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>Sent to the other members when <paramref name="From"/> leaves <paramref name="Room"/>.</summary>
/// <param name="From">The departed member's connection id.</param>
/// <param name="Room">The room.</param>
/// <param name="Seq">The room's change number of this departure (increasing per room); 0 from a server (or a cluster, for now) that does not number the changes.</param>
public sealed record PeerExited(string From, string Room, long Seq = 0)
{
    /// <summary>The member's user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The member's display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>A relayed SDP offer or answer.</summary>
/// <param name="From">The sender's connection id, stamped by the server.</param>
/// <param name="To">The target's connection id.</param>
/// <param name="Room">The room both are members of.</param>
/// <param name="Sdp">The session description.</param>
public sealed record SdpMessage(string From, string To, string Room, string Sdp)
{
    /// <summary>The sender's user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The sender's display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>A relayed ICE candidate.</summary>
/// <param name="From">The sender's connection id, stamped by the server.</param>
/// <param name="To">The target's connection id.</param>
/// <param name="Room">The room both are members of.</param>
/// <param name="Candidate">The candidate.</param>
public sealed record CandidateMessage(string From, string To, string Room, IceCandidate Candidate)
{
    /// <summary>The sender's user id (its token's <c>sub</c>); null, and absent on the wire, when auth is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    /// <summary>The sender's display name (its token's <c>name</c>); null, and absent on the wire, when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>
/// Sent to a member that an administrator removed from <paramref name="Room"/> (the admin API). The member is no
/// longer in the room but stays connected, and may join it (or any other room) again; the other members receive
/// <c>exit</c> for it as for any departure.
/// </summary>
/// <param name="Room">The room the member was removed from.</param>
/// <param name="Reason">Why, as the administrator put it (default <c>removed by an administrator</c>); at most 200 characters.</param>
public sealed record RemovedFromRoom(string Room, string Reason);
