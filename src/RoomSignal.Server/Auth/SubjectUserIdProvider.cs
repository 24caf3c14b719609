using Microsoft.AspNetCore.SignalR;

namespace RoomSignal.Server.Auth;

/// <summary>
/// SignalR's user id of a connection is its token's <c>sub</c>. SignalR's default reads the
/// <c>nameidentifier</c> claim, which our tokens do not have (inbound claims keep their JWT names), so without this
/// every connection's <see cref="HubConnectionContext.UserIdentifier"/> was null and the per-user connection cap
/// (<c>RoomSignal:Limits:MaxConnectionsPerUser</c>) never applied.
/// </summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => RoomSignalClaims.UserId(connection.User);
}
