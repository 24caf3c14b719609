using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;
using RoomSignal.Server.Hubs;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>Tells the members that remain in a room that a member is gone, when no hub call is running to do it.</summary>
internal interface IRoomExitNotifier
{
    /// <summary>Sends <c>exit {from, room}</c> to <paramref name="remainingMembers"/>, wherever they are connected.</summary>
    Task NotifyExitAsync(string connectionId, string room, IReadOnlyList<string> remainingMembers, CancellationToken cancellationToken = default);
}

/// <summary>Sends exits through the hub context, so the backplane carries them to members on other nodes.</summary>
internal sealed class HubRoomExitNotifier(IHubContext<RoomHub, IRoomClient> hub, ILogger<HubRoomExitNotifier> logger) : IRoomExitNotifier
{
    public async Task NotifyExitAsync(string connectionId, string room, IReadOnlyList<string> remainingMembers, CancellationToken cancellationToken = default)
    {
        if (remainingMembers.Count == 0)
        {
            return;
        }

        try
        {
            await hub.Clients.Clients(remainingMembers).Exit(new PeerExited(connectionId, room));
        }
        catch (Exception ex)
        {
            RedisRoomStoreLog.ExitNotifyFailed(logger, ex, connectionId, room);
        }
    }
}
