using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Validation;
using StackExchange.Redis;

namespace RoomSignal.Server.Admin;

/// <summary>The admin API's minimal-API handlers (mapped under <c>/admin</c> behind <see cref="AdminKeyFilter"/>).</summary>
internal static class AdminApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>();
        admin.MapGet("/rooms", ListRoomsAsync);
        admin.MapGet("/rooms/{room}", GetRoomAsync);
        admin.MapDelete("/rooms/{room}/members/{connectionId}", RemoveMemberAsync);
        admin.MapDelete("/rooms/{room}", RemoveRoomAsync);
    }

    private static Task<IResult> ListRoomsAsync(IRoomInspector inspector, HttpContext http) => Guarded(async () =>
    {
        var rooms = await inspector.ListRoomsAsync(http.RequestAborted);
        return Results.Ok(new RoomList(rooms.OrderBy(r => r.Room, StringComparer.Ordinal).Select(r => new RoomListEntry(r.Room, r.Members)).ToArray()));
    });

    private static Task<IResult> GetRoomAsync(string room, IRoomInspector inspector, IPeerDirectory directory, HttpContext http) => Guarded(async () =>
    {
        if (BadRoom(room) is { } bad)
        {
            return bad;
        }

        var members = await inspector.GetMembersAsync(room, http.RequestAborted);
        if (members is null)
        {
            return UnknownRoom(room);
        }

        // User ids and join times come from the peer directory (kept while the admin API or auth is on).
        var ids = members.Select(m => m.ConnectionId).ToArray();
        var profiles = await directory.FindAsync(ids, http.RequestAborted);
        var joinedAt = await directory.JoinedAtAsync(room, ids, http.RequestAborted);
        var list = members
            .Select((m, i) => new RoomMemberEntry(m.ConnectionId, profiles[i]?.UserId, m.Node, joinedAt[i]))
            .OrderBy(m => m.JoinedAt ?? DateTimeOffset.MaxValue)
            .ThenBy(m => m.ConnectionId, StringComparer.Ordinal)
            .ToArray();
        return Results.Ok(new RoomDetail(room, list));
    });

    private static Task<IResult> RemoveMemberAsync(string room, string connectionId, [FromQuery] string? reason, IMemberRemover remover, HttpContext http)
        => Guarded(async () =>
        {
            if ((BadRoom(room) ?? BadReason(reason)) is { } bad)
            {
                return bad;
            }

            return await remover.RemoveAsync(room, connectionId, Reason(reason), http.RequestAborted) switch
            {
                RemovalOutcome.Removed => Results.NoContent(),
                RemovalOutcome.NotMember => Problem(StatusCodes.Status404NotFound, $"connectionId: '{connectionId}' is not a member of room '{room}'"),
                var failed => NodeFailed(failed, 1),
            };
        });

    private static Task<IResult> RemoveRoomAsync(string room, [FromQuery] string? reason, IRoomInspector inspector, IMemberRemover remover, HttpContext http)
        => Guarded(async () =>
        {
            if ((BadRoom(room) ?? BadReason(reason)) is { } bad)
            {
                return bad;
            }

            var members = await inspector.GetMembersAsync(room, http.RequestAborted);
            if (members is null)
            {
                return UnknownRoom(room);
            }

            var why = Reason(reason);
            var outcomes = await Task.WhenAll(members.Select(m => remover.RemoveAsync(room, m.ConnectionId, why, http.RequestAborted)));
            var failed = outcomes.Where(o => o is RemovalOutcome.TimedOut or RemovalOutcome.NodeUnreachable).ToArray();
            return failed.Length == 0 ? Results.NoContent() : NodeFailed(failed[0], failed.Length);
        });

    /// <summary>Redis unreachable (cluster) answers 503 with a problem rather than a 500 with a stack trace.</summary>
    private static async Task<IResult> Guarded(Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or HubException)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "room membership is unavailable while the service cannot reach Redis; try again shortly");
        }
    }

    private static IResult? BadRoom(string room) => RequestRules.IsRoom(room)
        ? null
        : Problem(StatusCodes.Status400BadRequest, ValidationMessages.Room);

    private static IResult? BadReason(string? reason)
    {
        if (reason is null)
        {
            return null;
        }

        if (reason.Length is 0 or > AdminOptions.MaxReasonLength || reason.Any(char.IsControl))
        {
            return Problem(StatusCodes.Status400BadRequest, $"reason: must be 1-{AdminOptions.MaxReasonLength} characters without control characters");
        }

        return null;
    }

    private static string Reason(string? reason) => reason ?? AdminOptions.DefaultReason;

    private static IResult UnknownRoom(string room) => Problem(StatusCodes.Status404NotFound, $"room: '{room}' has no members");

    private static IResult NodeFailed(RemovalOutcome outcome, int count) => Problem(
        StatusCodes.Status504GatewayTimeout,
        outcome == RemovalOutcome.NodeUnreachable
            ? $"{count} member(s) are on a node that does not answer admin commands (gone, or without the admin API); a crashed node's members are removed when its heartbeat expires"
            : $"{count} member(s) were not confirmed removed in time by the node they are connected to; they may or may not have been removed, ask again");

    private static IResult Problem(int status, string detail) => Results.Problem(statusCode: status, detail: detail);

    private sealed record RoomList(IReadOnlyList<RoomListEntry> Rooms);

    private sealed record RoomListEntry(string Room, int Members);

    private sealed record RoomDetail(string Room, IReadOnlyList<RoomMemberEntry> Members);

    private sealed record RoomMemberEntry(string ConnectionId, string? UserId, string Node, DateTimeOffset? JoinedAt);
}
