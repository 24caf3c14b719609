namespace RoomSignal.Server.Validation;

/// <summary>The field rules of the contract, as plain predicates the validators share.</summary>
internal static class RequestRules
{
    public const int MaxRoomLength = 64;
    public const int MaxConnectionIdLength = 128;

    /// <summary>
    /// 64 KiB of SDP, counted in UTF-16 characters (<see cref="string.Length"/>), not UTF-8 bytes: SDP is
    /// ASCII in practice, where the two agree, and a character count needs no encoding pass.
    /// </summary>
    public const int MaxSdpLength = 64 * 1024;

    public const int MaxCandidateLength = 2048;
    public const int MaxSdpMidLength = 64;
    public const int MaxSdpMLineIndex = 1023;

    /// <summary>RFC 8839 allows an ICE ufrag of up to 256 characters.</summary>
    public const int MaxUsernameFragmentLength = 256;

    /// <summary>1-64 characters of <c>A-Z a-z 0-9 _ . : -</c>.</summary>
    public static bool IsRoom(string? room)
    {
        if (room is null || room.Length is 0 or > MaxRoomLength)
        {
            return false;
        }

        foreach (var c in room)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A non-empty connection id of at most 128 characters.</summary>
    public static bool IsConnectionId(string? id) => id is { Length: > 0 and <= MaxConnectionIdLength };

    /// <summary>Non-empty SDP of at most <see cref="MaxSdpLength"/> characters.</summary>
    public static bool IsSdp(string? sdp) => sdp is { Length: > 0 and <= MaxSdpLength };

    /// <summary>A candidate line (possibly empty: end of candidates) of at most 2048 characters.</summary>
    public static bool IsCandidateLine(string? candidate) => candidate is { Length: <= MaxCandidateLength };

    public static bool IsSdpMid(string? sdpMid) => sdpMid is null || sdpMid.Length <= MaxSdpMidLength;

    public static bool IsSdpMLineIndex(int? index) => index is null or (>= 0 and <= MaxSdpMLineIndex);

    public static bool IsUsernameFragment(string? fragment) => fragment is null || fragment.Length <= MaxUsernameFragmentLength;
}
