using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Contracts;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Ice;
using RoomSignal.Server.Rooms;
using RoomSignal.Server.Rooms.Events;

namespace RoomSignal.Server.Hubs;

/// <summary>
/// The room signaling hub. Arguments reach these methods already validated by the validation hub
/// filter; here we only apply the membership rules and relay.
/// </summary>
/// <remarks>
/// The membership events (<c>created</c>, <c>joined</c>, <c>exit</c>) are sent by the room store through the
/// <see cref="RoomEventDispatcher"/>, in each room's change order: the in-memory store under its lock, the Redis
/// store from the cluster's ordered change stream, on every node to its own members. A join returns once its
/// <c>created</c> has been written, so <c>created</c> reaches the caller before <c>CreateAndJoinRoom</c>'s result
/// does, and the result is built from the same peers and seq.
/// With auth on, every peer object carries its member's <c>userId</c>/<c>name</c> (the caller's own from its token,
/// the others' from the <see cref="IPeerDirectory"/>), the relayed messages the sender's.
/// </remarks>
public sealed class RoomHub(IRoomStore store, IPeerDirectory directory, IceServerProvider ice, IOptionsMonitor<RoomOptions> roomOptions, ILogger<RoomHub> logger)
    : Hub<IRoomClient>, IRoomHub
{
    /// <inheritdoc/>
    public async Task<RoomJoined> CreateAndJoinRoom(JoinRoomRequest request)
    {
        var room = request.Room!;
        var self = Context.ConnectionId;
        var maxPeers = roomOptions.CurrentValue.MaxPeers;
        var result = await store.JoinAsync(room, self, maxPeers, Context.ConnectionAborted);
        if (result.Status == RoomJoinStatus.RoomFull)
        {
            RoomHubLog.RoomFull(logger, self, room, maxPeers);
            throw new HubException($"room: '{room}' is full (at most {maxPeers} members)");
        }

        if (Context.ConnectionAborted.IsCancellationRequested)
        {
            // The connection closed while the join ran. SignalR aborts the connection before it calls
            // OnDisconnectedAsync, so either that cleanup already saw this membership, or it ran first and
            // we must undo the join here; otherwise a ghost member would hold a seat in the room for good.
            await store.LeaveAsync(room, self, CancellationToken.None);
            throw new OperationCanceledException(Context.ConnectionAborted);
        }

        var joined = new RoomJoined(self, room, await directory.DescribeAsync(result.Peers, Context.ConnectionAborted), result.Seq) { UserId = UserId, Name = UserName };
        if (result.Status == RoomJoinStatus.Joined)
        {
            RoomHubLog.Joined(logger, self, room, result.Peers.Count);
        }

        return joined;
    }

    /// <inheritdoc/>
    public async Task Exit(ExitRoomRequest request)
    {
        var room = request.Room!;
        var remaining = await store.LeaveAsync(room, Context.ConnectionId, Context.ConnectionAborted);
        if (remaining is null)
        {
            return;
        }

        RoomHubLog.Left(logger, Context.ConnectionId, room);
    }

    /// <inheritdoc/>
    public async Task Offer(SdpRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Offer), request.Room!, request.To!);
        await Clients.Client(request.To!).Offer(new SdpMessage(Context.ConnectionId, request.To!, request.Room!, request.Sdp!) { UserId = UserId, Name = UserName });
    }

    /// <inheritdoc/>
    public async Task Answer(SdpRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Answer), request.Room!, request.To!);
        await Clients.Client(request.To!).Answer(new SdpMessage(Context.ConnectionId, request.To!, request.Room!, request.Sdp!) { UserId = UserId, Name = UserName });
    }

    /// <inheritdoc/>
    public async Task Candidate(CandidateRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Candidate), request.Room!, request.To!);
        await Clients.Client(request.To!).Candidate(new CandidateMessage(Context.ConnectionId, request.To!, request.Room!, request.Candidate!) { UserId = UserId, Name = UserName });
    }

    /// <inheritdoc/>
    public Task<IceServerList> GetIceServers() => Task.FromResult(ice.Get(UserId ?? Context.ConnectionId));

    /// <inheritdoc/>
    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        var self = Context.ConnectionId;
        try
        {
            var departures = await store.LeaveAllAsync(self, CancellationToken.None);
            RoomHubLog.Disconnected(logger, self, departures.Count);
        }
        catch (Exception ex)
        {
            RoomHubLog.DisconnectCleanupFailed(logger, ex, self);
        }

        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>The caller's user id (its token's <c>sub</c>); null with auth off.</summary>
    private string? UserId => RoomSignalClaims.UserId(Context.User);

    /// <summary>The caller's display name (its token's <c>name</c>), if any.</summary>
    private string? UserName => RoomSignalClaims.DisplayName(Context.User);

    private async ValueTask EnsureSharedRoomAsync(string kind, string room, string to)
    {
        var self = Context.ConnectionId;
        if (await store.AreMembersAsync(room, self, to, Context.ConnectionAborted))
        {
            return;
        }

        // Refusals are rare, so only now spend a second lookup to say which side is missing:
        // asking about the same id twice asks whether the caller alone is a member.
        var callerIsMember = await store.AreMembersAsync(room, self, self, Context.ConnectionAborted);
        RoomHubLog.RelayRefused(logger, kind, self, to, room, callerIsMember);
        throw new HubException(callerIsMember
            ? $"to: '{to}' is not a member of room '{room}'"
            : $"room: you are not a member of '{room}'");
    }
}
