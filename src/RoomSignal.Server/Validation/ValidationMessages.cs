namespace RoomSignal.Server.Validation;

/// <summary>
/// The exact messages a client sees when an argument breaks a rule of the contract's "Bad input" table.
/// Each names the field as it appears on the wire, then the rule. Several failures are joined with "; ".
/// </summary>
internal static class ValidationMessages
{
    public const string Room = "room: must be 1-64 characters of A-Z a-z 0-9 _ . : -";

    public const string To = "to: must be a non-empty connection id of at most 128 characters";

    public const string Sdp = "sdp: must be non-empty and at most 65536 characters";

    public const string CandidateRequired = "candidate: is required";

    public const string CandidateLine = "candidate.candidate: must be a string of at most 2048 characters";

    public const string SdpMid = "candidate.sdpMid: must be null or at most 64 characters";

    public const string SdpMidOrIndexRequired = "candidate.sdpMid: sdpMid and sdpMLineIndex may not both be null unless candidate is empty";

    public const string SdpMLineIndex = "candidate.sdpMLineIndex: must be null or 0-1023";

    public const string UsernameFragment = "candidate.usernameFragment: must be null or at most 256 characters";

    /// <summary>A missing argument of <c>CreateAndJoinRoom</c> or <c>Exit</c>: both take just <c>{room}</c>.</summary>
    public const string RoomRequestMissing = "request: must be an object {room}";

    public const string SdpRequestMissing = "request: must be an object {to, room, sdp}";

    public const string CandidateRequestMissing = "request: must be an object {to, room, candidate}";

    /// <summary>Joins several failures into the one message a <c>HubException</c> carries.</summary>
    public const string Separator = "; ";
}
