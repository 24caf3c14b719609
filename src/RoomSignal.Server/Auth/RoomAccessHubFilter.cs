using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Auth;

/// <summary>
/// With auth on, refuses a join outside the caller's <c>rooms</c> claim before the room store is touched.
/// Runs after validation, so the room name is already known to be well formed.
/// </summary>
internal sealed class RoomAccessHubFilter(ILogger<RoomAccessHubFilter> logger) : IHubFilter
{
    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocationContext.HubMethodArguments is [JoinRoomRequest { Room: { } room }]
            && invocationContext.Context.User is { } user
            && !RoomSignalClaims.AllowsRoom(user, room))
        {
            AuthLog.JoinRefused(logger, invocationContext.Context.ConnectionId, RoomSignalClaims.UserId(user), room);
            throw new HubException($"room: your token does not allow joining '{room}'");
        }

        return next(invocationContext);
    }
}
