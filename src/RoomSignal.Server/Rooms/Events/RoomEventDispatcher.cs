using Microsoft.AspNetCore.SignalR;
using RoomSignal.Contracts;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Hubs;

namespace RoomSignal.Server.Rooms.Events;

/// <summary>Where a room store hands its membership changes for delivery, in each room's change order.</summary>
internal interface IRoomEventSink
{
    /// <summary>
    /// Queues <paramref name="roomEvent"/> behind the room's earlier events. Cheap and non-blocking, so stores may
    /// call it under their own lock. The task completes once the event has been written to every recipient
    /// (a failed write is logged, not thrown).
    /// </summary>
    Task Enqueue(RoomEvent roomEvent);
}

/// <summary>
/// Sends each room's membership events to this node's connections in the room's change order, one change at a
/// time: a room's next change is sent only once every message of the one before has been written to its
/// recipients' connections. Rooms are independent of one another, so a busy room does not hold up the others.
/// </summary>
/// <remarks>
/// <para>
/// Stores call <see cref="Enqueue"/> while they still hold the room's order (inside the lock or the ordered
/// stream that assigned the change its <c>seq</c>), so the queue of a room is in <c>seq</c> order by
/// construction. That is what makes the rule of the wire contract hold: a member receives <c>created</c> at
/// its own join's place, then every later change of the room exactly once, in order, until it leaves.
/// </para>
/// <para>
/// A message written to a SignalR connection is queued on that connection's pipe behind everything written
/// before it, so awaiting the writes of one change before starting the next is enough to keep the order on
/// the wire. The price: a member whose connection does not drain (its buffer full) delays the events of its
/// rooms until SignalR closes it or it catches up; relays never wait on this.
/// </para>
/// <para>
/// With auth on, the peer objects carry <c>userId</c>/<c>name</c>, read from the <see cref="IPeerDirectory"/> as each
/// change is sent (one lookup per change, in the room's queue, so the order holds). A connection's profile is written
/// before the hub sees it and removed only after its departures have been sent, so every subject and peer is found.
/// With auth off the directory is disabled and nothing is looked up.
/// </para>
/// </remarks>
internal sealed class RoomEventDispatcher(IHubContext<RoomHub, IRoomClient> hub, IPeerDirectory directory, ILogger<RoomEventDispatcher> logger) : IRoomEventSink
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RoomQueue> _queues = new(StringComparer.Ordinal);

    /// <summary>How many rooms have events waiting or being sent right now (for tests and diagnostics).</summary>
    public int BusyRooms
    {
        get
        {
            lock (_gate)
            {
                return _queues.Count;
            }
        }
    }

    /// <inheritdoc/>
    public Task Enqueue(RoomEvent roomEvent)
    {
        var item = new QueuedEvent(roomEvent);
        RoomQueue? queue;
        lock (_gate)
        {
            if (_queues.TryGetValue(roomEvent.Room, out queue))
            {
                queue.Pending.Enqueue(item);
                return item.Sent.Task;
            }

            queue = new RoomQueue(roomEvent.Room);
            queue.Pending.Enqueue(item);
            _queues[roomEvent.Room] = queue;
        }

        _ = Task.Run(() => DrainAsync(queue));
        return item.Sent.Task;
    }

    private async Task DrainAsync(RoomQueue queue)
    {
        while (true)
        {
            QueuedEvent item;
            lock (_gate)
            {
                if (!queue.Pending.TryDequeue(out item!))
                {
                    _queues.Remove(queue.Room);
                    return;
                }
            }

            try
            {
                await SendAsync(item.Event);
            }
            catch (Exception ex)
            {
                RoomEventsLog.DeliveryFailed(logger, ex, item.Event.Kind, item.Event.Subject, item.Event.Seq, item.Event.Room);
            }

            item.Sent.TrySetResult();
        }
    }

    private async Task SendAsync(RoomEvent e)
    {
        switch (e.Kind)
        {
            case RoomEventKind.Joined:
            {
                var (subject, peers) = await DescribeAsync(e, withPeers: e.SubjectIsLocal);
                var joined = new PeerJoined(e.Subject, e.Room, e.Seq) { UserId = subject?.UserId, Name = subject?.Name };
                var sends = new List<Task>(e.Recipients.Count + 1);
                if (e.SubjectIsLocal)
                {
                    sends.Add(hub.Clients.Client(e.Subject).Created(RoomMessages.Created(e.Subject, e.Room, peers, e.Seq, subject)));
                }

                foreach (var recipient in e.Recipients)
                {
                    sends.Add(hub.Clients.Client(recipient).Joined(joined));
                }

                await Task.WhenAll(sends);
                return;
            }

            case RoomEventKind.Rejoined:
                if (e.SubjectIsLocal)
                {
                    var (subject, peers) = await DescribeAsync(e, withPeers: true);
                    await hub.Clients.Client(e.Subject).Created(RoomMessages.Created(e.Subject, e.Room, peers, e.Seq, subject));
                }

                return;

            default:
            {
                if (e.Recipients.Count == 0)
                {
                    return;
                }

                var (subject, _) = await DescribeAsync(e, withPeers: false);
                var exit = new PeerExited(e.Subject, e.Room, e.Seq) { UserId = subject?.UserId, Name = subject?.Name };
                var sends = new Task[e.Recipients.Count];
                for (var i = 0; i < sends.Length; i++)
                {
                    sends[i] = hub.Clients.Client(e.Recipients[i]).Exit(exit);
                }

                await Task.WhenAll(sends);
                return;
            }
        }
    }

    /// <summary>The subject's profile and the peer objects of <see cref="RoomEvent.Peers"/> (when asked for), in one directory lookup.</summary>
    private async ValueTask<(PeerProfile? Subject, PeerInfo[] Peers)> DescribeAsync(RoomEvent e, bool withPeers)
    {
        var peerCount = withPeers ? e.Peers.Count : 0;
        if (!directory.Enabled)
        {
            return (null, RoomMessages.Anonymous(e.Peers, peerCount));
        }

        var ids = new string[peerCount + 1];
        ids[0] = e.Subject;
        for (var i = 0; i < peerCount; i++)
        {
            ids[i + 1] = e.Peers[i];
        }

        var profiles = await directory.FindAsync(ids, CancellationToken.None);
        var peers = new PeerInfo[peerCount];
        for (var i = 0; i < peerCount; i++)
        {
            var profile = profiles[i + 1];
            peers[i] = new PeerInfo(e.Peers[i]) { UserId = profile?.UserId, Name = profile?.Name };
        }

        return (profiles[0], peers);
    }

    private sealed class RoomQueue(string room)
    {
        public string Room { get; } = room;

        public Queue<QueuedEvent> Pending { get; } = new();
    }

    private sealed class QueuedEvent(RoomEvent roomEvent)
    {
        public RoomEvent Event { get; } = roomEvent;

        public TaskCompletionSource Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The membership messages, built in one place so the hub's return value and the <c>created</c> event agree.</summary>
internal static class RoomMessages
{
    /// <summary>The <c>created</c> payload (and <c>CreateAndJoinRoom</c>'s result) for <paramref name="id"/>, with its own profile when known.</summary>
    public static RoomJoined Created(string id, string room, PeerInfo[] peers, long seq, PeerProfile? self)
        => new(id, room, peers, seq) { UserId = self?.UserId, Name = self?.Name };

    /// <summary>Peer objects without identity (auth off) for the first <paramref name="count"/> of <paramref name="ids"/>.</summary>
    public static PeerInfo[] Anonymous(IReadOnlyList<string> ids, int count)
    {
        var infos = new PeerInfo[count];
        for (var i = 0; i < infos.Length; i++)
        {
            infos[i] = new PeerInfo(ids[i]);
        }

        return infos;
    }
}
