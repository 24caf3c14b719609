using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Hubs;
using RoomSignal.Server.Limits;
using RoomSignal.Server.Rooms;

namespace RoomSignal.Server.Admin;

/// <summary>How an admin removal ended.</summary>
internal enum RemovalOutcome
{
    /// <summary>The member left the room, the others were told (<c>exit</c>) and it was sent <c>removed</c>.</summary>
    Removed,

    /// <summary>The connection was not a member of the room (any more).</summary>
    NotMember,

    /// <summary>The node holding the member did not answer within <see cref="AdminOptions.RemoveTimeout"/>.</summary>
    TimedOut,

    /// <summary>No node listens for the member's node's admin commands (it is gone, or runs without the admin API).</summary>
    NodeUnreachable,
}

/// <summary>Removes a member from a room, wherever in the cluster it is connected.</summary>
internal interface IMemberRemover
{
    /// <summary>Removes <paramref name="connectionId"/> from <paramref name="room"/>, telling it why.</summary>
    Task<RemovalOutcome> RemoveAsync(string room, string connectionId, string reason, CancellationToken cancellationToken = default);
}

/// <summary>
/// Removes a member connected to this node by the same path as the member's own <c>Exit</c>: the room store's leave
/// (which gives the change its <c>seq</c> and has the others sent their <c>exit</c> in the room's order, on every
/// node from the change stream in a cluster), then <c>removed</c> to the member
/// once it is out of the room (so a join it sends on receiving it is a fresh join). The connection stays open.
/// </summary>
internal sealed class LocalMemberRemover(
    IRoomStore store,
    IHubContext<RoomHub, IRoomClient> hub,
    IPeerDirectory directory,
    LimitsHubFilter limits,
    ILogger<LocalMemberRemover> logger) : IMemberRemover
{
    public async Task<RemovalOutcome> RemoveAsync(string room, string connectionId, string reason, CancellationToken cancellationToken = default)
    {
        // Not cancelled half-way: once the leave runs, the member and the room must both hear of it.
        var remaining = await store.LeaveAsync(room, connectionId, CancellationToken.None);
        if (remaining is null)
        {
            return RemovalOutcome.NotMember;
        }

        // What the hub filters do after an Exit call: the room count of the limits, the join time of the directory.
        limits.RoomLeftOutsideHub(connectionId, room);
        await directory.MarkLeftAsync(connectionId, room, CancellationToken.None);
        try
        {
            await hub.Clients.Client(connectionId).Removed(new RemovedFromRoom(room, reason));
        }
        catch (Exception ex)
        {
            AdminLog.RemovedNotifyFailed(logger, ex, connectionId, room);
        }

        AdminLog.Removed(logger, connectionId, room, reason);
        return RemovalOutcome.Removed;
    }
}
