using System.Text.RegularExpressions;

namespace RoomSignal.Server.Tests.Validation;

/// <summary>
/// The rows of the contract's "Bad input" table, good and bad values with the boundaries, shared by the
/// validator unit tests and the tests through a real node. A value like <c>"r*64"</c> means 64 times 'r'.
/// </summary>
public static partial class ValidationCases
{
    public const string Room = "room: must be 1-64 characters of A-Z a-z 0-9 _ . : -";
    public const string To = "to: must be a non-empty connection id of at most 128 characters";
    public const string Sdp = "sdp: must be non-empty and at most 65536 characters";
    public const string CandidateRequired = "candidate: is required";
    public const string CandidateLine = "candidate.candidate: must be a string of at most 2048 characters";
    public const string SdpMid = "candidate.sdpMid: must be null or at most 64 characters";
    public const string SdpMidOrIndex = "candidate.sdpMid: sdpMid and sdpMLineIndex may not both be null unless candidate is empty";
    public const string SdpMLineIndex = "candidate.sdpMLineIndex: must be null or 0-1023";
    public const string UsernameFragment = "candidate.usernameFragment: must be null or at most 256 characters";

    private const string Line = "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host";

    /// <summary>Room values and the expected error (null: valid).</summary>
    public static TheoryData<string?, string?> Rooms => new()
    {
        { "a", null },
        { "r*64", null },
        { "AZaz09_.:-", null },
        { "lobby:42.video-chat_1", null },
        { null, Room },
        { "", Room },
        { "r*65", Room },
        { "has space", Room },
        { "slash/room", Room },
        { "comma,room", Room },
        { "tab\troom", Room },
        { "caf\u00e9", Room },
        { "emoji\U0001F600", Room },
    };

    /// <summary>Target connection ids and the expected error (null: valid).</summary>
    public static TheoryData<string?, string?> Targets => new()
    {
        { "x", null },
        { "t*128", null },
        { "Ab-_12+/=", null },
        { null, To },
        { "", To },
        { "t*129", To },
    };

    /// <summary>SDP bodies and the expected error (null: valid). 64 KiB is counted in characters.</summary>
    public static TheoryData<string?, string?> Sdps => new()
    {
        { "v", null },
        { "s*65536", null },
        { null, Sdp },
        { "", Sdp },
        { "s*65537", Sdp },
    };

    /// <summary>Candidate fields (candidate, sdpMid, sdpMLineIndex, usernameFragment) and the expected error (null: valid).</summary>
    public static TheoryData<string?, string?, int?, string?, string?> Candidates => new()
    {
        { Line, "0", 0, "abcd", null },
        { Line, "audio", null, null, null },
        { Line, null, 3, null, null },
        { "", null, null, null, null },
        { "", "0", 0, null, null },
        { "c*2048", "0", 0, null, null },
        { "c*2049", "0", 0, null, CandidateLine },
        { null, "0", 0, null, CandidateLine },
        { Line, "m*64", null, null, null },
        { Line, "m*65", null, null, SdpMid },
        { Line, null, null, null, SdpMidOrIndex },
        { Line, "0", 1023, null, null },
        { Line, "0", 1024, null, SdpMLineIndex },
        { Line, "0", -1, null, SdpMLineIndex },
        { Line, "0", int.MaxValue, null, SdpMLineIndex },
        { Line, "0", 0, "u*256", null },
        { Line, "0", 0, "u*257", UsernameFragment },
        { "c*2049", "m*65", 2000, "u*257", $"{CandidateLine}; {SdpMid}; {SdpMLineIndex}; {UsernameFragment}" },
    };

    /// <summary>Expands <c>"x*N"</c> to N times 'x'; anything else is returned as it is.</summary>
    public static string? Expand(string? spec)
    {
        if (spec is null)
        {
            return null;
        }

        var match = RepeatSpec().Match(spec);
        return match.Success ? new string(match.Groups[1].Value[0], int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)) : spec;
    }

    [GeneratedRegex(@"^(.)\*(\d+)$")]
    private static partial Regex RepeatSpec();
}
