using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Contracts;
using RoomSignal.Server.Rooms;

namespace RoomSignal.Server.Hubs;

/// <summary>
/// The room signaling hub. Arguments reach these methods already validated by the validation hub
/// filter; here we only apply the membership rules and relay.
/// </summary>
public sealed class RoomHub(IRoomStore store, IOptionsMonitor<RoomOptions> roomOptions, ILogger<RoomHub> logger)
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

        var joined = new RoomJoined(self, room, result.Peers.Select(id => new PeerInfo(id)).ToArray());
        await Clients.Caller.Created(joined);
        if (result.Status == RoomJoinStatus.Joined)
        {
            RoomHubLog.Joined(logger, self, room, result.Peers.Count);
            if (result.Peers.Count > 0)
            {
                await Clients.Clients(result.Peers).Joined(new PeerJoined(self, room));
            }
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
        if (remaining.Count > 0)
        {
            await Clients.Clients(remaining).Exit(new PeerExited(Context.ConnectionId, room));
        }
    }

    /// <inheritdoc/>
    public async Task Offer(SdpRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Offer), request.Room!, request.To!);
        await Clients.Client(request.To!).Offer(new SdpMessage(Context.ConnectionId, request.To!, request.Room!, request.Sdp!));
    }

    /// <inheritdoc/>
    public async Task Answer(SdpRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Answer), request.Room!, request.To!);
        await Clients.Client(request.To!).Answer(new SdpMessage(Context.ConnectionId, request.To!, request.Room!, request.Sdp!));
    }

    /// <inheritdoc/>
    public async Task Candidate(CandidateRequest request)
    {
        await EnsureSharedRoomAsync(nameof(Candidate), request.Room!, request.To!);
        await Clients.Client(request.To!).Candidate(new CandidateMessage(Context.ConnectionId, request.To!, request.Room!, request.Candidate!));
    }

    /// <inheritdoc/>
    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        var self = Context.ConnectionId;
        try
        {
            var departures = await store.LeaveAllAsync(self, CancellationToken.None);
            RoomHubLog.Disconnected(logger, self, departures.Count);
            foreach (var departure in departures)
            {
                if (departure.RemainingMembers.Count > 0)
                {
                    await Clients.Clients(departure.RemainingMembers).Exit(new PeerExited(self, departure.Room));
                }
            }
        }
        catch (Exception ex)
        {
            RoomHubLog.DisconnectCleanupFailed(logger, ex, self);
        }

        await base.OnDisconnectedAsync(exception);
    }

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
