namespace RoomSignal.Server.Rooms.Redis;

internal static partial class RedisRoomStoreLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Subscribed to membership changes on {Channel}")]
    public static partial void Subscribed(ILogger logger, string channel);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Ignored a malformed membership change: {Text}")]
    public static partial void BadChange(ILogger logger, string text);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Membership change {Sequence} does not follow the last one (went back: {WentBack}); reloading local rooms")]
    public static partial void SequenceGap(ILogger logger, long sequence, bool wentBack);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Could not apply a membership change")]
    public static partial void ChangeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Could not remove the memberships of connection {ConnectionId} from Redis; the next heartbeat will")]
    public static partial void LeaveFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Removed stale membership of gone connection {ConnectionId} in room {Room}")]
    public static partial void GhostRemoved(ILogger logger, string connectionId, string room);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Node {NodeId} renewed its heartbeat while being swept; left it alone")]
    public static partial void NodeCameBack(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Swept dead node {NodeId}: removed {Memberships} memberships; forgotten: {Forgotten}")]
    public static partial void NodeSwept(ILogger logger, string nodeId, int memberships, bool forgotten);

    // EventId 9 was "Could not send exit": exits now go out through the room event dispatcher (never reuse the id).

    // Debug: during an outage every call fails; the cluster service reports the outage once at Error.
    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Refused a room operation of {ConnectionId}: Redis is unreachable")]
    public static partial void Unavailable(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Refused a join of {ConnectionId} to room {Room}: the backplane cannot reach it yet")]
    public static partial void NotReachableYet(ILogger logger, string connectionId, string room);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Recovered room views after missing membership changes: re-read {Rooms} rooms that had changed and sent local members {Joined} joined and {Exits} exit for the difference")]
    public static partial void ViewsCorrected(ILogger logger, int rooms, int joined, int exits);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "The join of {ConnectionId} to room {Room} has not come back on the membership stream yet; re-reading the rooms")]
    public static partial void AnnouncementLate(ILogger logger, string connectionId, string room);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Change {Seq} of room {Room} does not follow the copy's {Last}; re-reading the room")]
    public static partial void RoomGap(ILogger logger, string room, long seq, long last);
}

internal static partial class RoomClusterLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Node {NodeId} joined the cluster (heartbeat TTL {HeartbeatTtl}, sweep every {SweepInterval})")]
    public static partial void Started(ILogger logger, string nodeId, TimeSpan heartbeatTtl, TimeSpan sweepInterval);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Cluster heartbeat failed; retrying")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Cluster heartbeat succeeds again")]
    public static partial void HeartbeatRecovered(ILogger logger);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Redis lost memberships of this node; put back {Restored} memberships")]
    public static partial void Restored(ILogger logger, int restored);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Sweep of dead nodes failed")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Shutting down: removed {Memberships} memberships of local connections and told their rooms")]
    public static partial void Drained(ILogger logger, int memberships);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Shutting down: could not remove the memberships of local connections")]
    public static partial void DrainFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "Reloaded the local copies of rooms")]
    public static partial void Resynced(ILogger logger);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "This node was swept as dead (it missed its heartbeat for a whole TTL) and its members were reported gone; forgot {Memberships} memberships, which must be joined again")]
    public static partial void WasSwept(ILogger logger, int memberships);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Checked this node's memberships against Redis: nothing was missing")]
    public static partial void NothingToRestore(ILogger logger);
}
