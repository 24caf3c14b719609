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

// Server -> client messages.

/// <summary>A member of a room, identified by its connection id.</summary>
/// <param name="Id">The member's connection id.</param>
public sealed record PeerInfo(string Id);

/// <summary>Result of joining a room, also sent to the joiner as <c>created</c>.</summary>
/// <param name="Id">The caller's own connection id.</param>
/// <param name="Room">The room joined.</param>
/// <param name="Peers">The members already in the room, the caller excluded.</param>
public sealed record RoomJoined(string Id, string Room, IReadOnlyList<PeerInfo> Peers);

/// <summary>Sent to the other members when <paramref name="Id"/> joins <paramref name="Room"/>.</summary>
/// <param name="Id">The new member's connection id.</param>
/// <param name="Room">The room.</param>
public sealed record PeerJoined(string Id, string Room);

/// <summary>Sent to the other members when <paramref name="From"/> leaves <paramref name="Room"/>.</summary>
/// <param name="From">The departed member's connection id.</param>
/// <param name="Room">The room.</param>
public sealed record PeerExited(string From, string Room);

/// <summary>A relayed SDP offer or answer.</summary>
/// <param name="From">The sender's connection id, stamped by the server.</param>
/// <param name="To">The target's connection id.</param>
/// <param name="Room">The room both are members of.</param>
/// <param name="Sdp">The session description.</param>
public sealed record SdpMessage(string From, string To, string Room, string Sdp);

/// <summary>A relayed ICE candidate.</summary>
/// <param name="From">The sender's connection id, stamped by the server.</param>
/// <param name="To">The target's connection id.</param>
/// <param name="Room">The room both are members of.</param>
/// <param name="Candidate">The candidate.</param>
public sealed record CandidateMessage(string From, string To, string Room, IceCandidate Candidate);
