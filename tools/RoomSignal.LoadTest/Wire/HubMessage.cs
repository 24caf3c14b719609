namespace RoomSignal.LoadTest.Wire;

/// <summary>SignalR hub protocol on the wire: JSON (text frames, records end in 0x1e) or MessagePack (binary, varint length prefix).</summary>
internal enum HubProtocolKind
{
    Json,
    MessagePack,
}

/// <summary>The targets the driver and the ceiling know; matched without regard to case.</summary>
internal enum HubTarget
{
    None,
    Other,
    Created,
    Joined,
    Exit,
    Offer,
    Answer,
    Candidate,
    Removed,
    CreateAndJoinRoom,
}

/// <summary>
/// What a relay payload carries so the receiver can check it: sender and intended target (indexes into the
/// driver's peer table), the sender's sequence number and the send time (<see cref="System.Diagnostics.Stopwatch"/> ticks).
/// On the wire it is the start of the <c>sdp</c> or of <c>candidate.candidate</c>: <c>RS1|sender|target|seq|ticks|</c>.
/// </summary>
internal readonly record struct RelayMarker(int Sender, int Target, long Seq, long Ticks);

/// <summary>
/// One decoded hub message (invocation, completion, ping or close) with the payload fields RoomSignal
/// uses. One instance is reused per receive loop; strings are materialised only for the fields kept.
/// </summary>
internal sealed class HubMessage
{
    public int Type;
    public HubTarget Target;
    public string? InvocationId;
    public string? Error;
    public bool HasResult;

    // Payload (first argument of an invocation, or the result of a completion).
    public string? Id;
    public string? Room;
    public string? From;
    public string? To;
    public string? Sdp;
    public bool HasCandidate;
    public string? CandidateText;
    public string? SdpMid;
    public int? SdpMLineIndex;
    public string? UsernameFragment;
    public long Seq = -1;
    public bool HasPeers;
    public readonly List<string> Peers = [];
    public bool HasMarker;
    public RelayMarker Marker;

    public void Reset()
    {
        Type = 0;
        Target = HubTarget.None;
        InvocationId = null;
        Error = null;
        HasResult = false;
        Id = Room = From = To = Sdp = null;
        HasCandidate = false;
        CandidateText = SdpMid = UsernameFragment = null;
        SdpMLineIndex = null;
        Seq = -1;
        HasPeers = false;
        Peers.Clear();
        HasMarker = false;
        Marker = default;
    }
}
