namespace RoomSignal.Server.Hubs;

internal static partial class RoomHubLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connection {ConnectionId} joined room {Room} with {PeerCount} peers")]
    public static partial void Joined(ILogger logger, string connectionId, string room, int peerCount);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connection {ConnectionId} was refused room {Room}: full at {MaxPeers} members")]
    public static partial void RoomFull(ILogger logger, string connectionId, string room, int maxPeers);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Connection {ConnectionId} left room {Room}")]
    public static partial void Left(ILogger logger, string connectionId, string room);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Refused {Kind} from {ConnectionId} to {To} in room {Room}: not both members (sender is a member: {SenderIsMember})")]
    public static partial void RelayRefused(ILogger logger, string kind, string connectionId, string to, string room, bool senderIsMember);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Connection {ConnectionId} disconnected and left {RoomCount} rooms")]
    public static partial void Disconnected(ILogger logger, string connectionId, int roomCount);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Could not remove the memberships of disconnected connection {ConnectionId}")]
    public static partial void DisconnectCleanupFailed(ILogger logger, Exception exception, string connectionId);
}
