using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Auth;

/// <summary>
/// Keeps <see cref="IPeerDirectory"/> in step with the hub: a connection's profile is written before the
/// hub sees the connection (so no other member can look it up too early) and removed after the hub has told
/// the rooms it left; successful joins and exits record the join times the admin API shows.
/// </summary>
internal sealed class PeerDirectoryHubFilter(IPeerDirectory directory, NodeIdentity node, TimeProvider time, ILogger<PeerDirectoryHubFilter> logger) : IHubFilter
{
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var user = context.Context.User;
        var profile = new PeerProfile(RoomSignalClaims.UserId(user), RoomSignalClaims.DisplayName(user), node.Id, time.GetUtcNow());
        await directory.AddAsync(context.Context.ConnectionId, profile, context.Context.ConnectionAborted);
        await next(context);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            try
            {
                await directory.RemoveAsync(context.Context.ConnectionId, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // A profile left behind is removed with its node's others when the node is gone; never fail a disconnect for it.
                AuthLog.ProfileRemoveFailed(logger, ex, context.Context.ConnectionId);
            }
        }
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var result = await next(invocationContext);
        var self = invocationContext.Context.ConnectionId;
        switch (invocationContext.HubMethodArguments)
        {
            case [JoinRoomRequest { Room: { } joined }]:
                await directory.MarkJoinedAsync(self, joined, time.GetUtcNow(), CancellationToken.None);
                break;
            case [ExitRoomRequest { Room: { } left }]:
                await directory.MarkLeftAsync(self, left, CancellationToken.None);
                break;
        }

        return result;
    }
}
