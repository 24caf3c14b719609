using System.Security.Claims;

namespace RoomSignal.Server.Auth;

/// <summary>The JWT claims RoomSignal reads (their names as they appear in the token; inbound claim mapping is off).</summary>
public static class RoomSignalClaims
{
    /// <summary>The user id (required).</summary>
    public const string Subject = "sub";

    /// <summary>The display name (optional).</summary>
    public const string Name = "name";

    /// <summary>The rooms the token may join: names, each may end in <c>*</c> as a prefix wildcard; <c>*</c> alone is every room.</summary>
    public const string Rooms = "rooms";

    /// <summary>The user id of <paramref name="user"/>, or null when the connection is anonymous (auth off).</summary>
    public static string? UserId(ClaimsPrincipal? user) => NonEmpty(user?.FindFirst(Subject)?.Value);

    /// <summary>The display name of <paramref name="user"/>, or null when its token has none.</summary>
    public static string? DisplayName(ClaimsPrincipal? user) => NonEmpty(user?.FindFirst(Name)?.Value);

    /// <summary>
    /// Whether <paramref name="user"/>'s token allows joining <paramref name="room"/>: one of its <c>rooms</c>
    /// equals the room, or ends in <c>*</c> and the room starts with what precedes it. No <c>rooms</c> claim: no room.
    /// </summary>
    public static bool AllowsRoom(ClaimsPrincipal user, string room)
    {
        foreach (var claim in user.FindAll(Rooms))
        {
            if (RoomPatternMatches(claim.Value, room))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether one <c>rooms</c> entry matches <paramref name="room"/> (case-sensitive, like room names).</summary>
    public static bool RoomPatternMatches(string pattern, string room)
        => pattern.EndsWith('*')
            ? room.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, room, StringComparison.Ordinal);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
