namespace RoomSignal.Server.Admin;

internal static partial class AdminLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Admin API enabled at /admin (bearer key required)")]
    public static partial void Enabled(ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Refused an admin request to {Path} from {RemoteAddress}: {Why}")]
    public static partial void Refused(ILogger logger, string path, string remoteAddress, string why);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Admin removed connection {ConnectionId} from room {Room} (reason: {Reason})")]
    public static partial void Removed(ILogger logger, string connectionId, string room, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Admin removal of connection {ConnectionId} from room {Room}: node {NodeId} did not answer within {Timeout}")]
    public static partial void RemoteRemovalTimedOut(ILogger logger, string connectionId, string room, string nodeId, TimeSpan timeout);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Could not handle an admin command from the cluster")]
    public static partial void CommandFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Ignored a malformed admin message on {Channel}")]
    public static partial void BadMessage(ILogger logger, string channel);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Could not tell connection {ConnectionId} that it was removed from room {Room}")]
    public static partial void RemovedNotifyFailed(ILogger logger, Exception exception, string connectionId, string room);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Could not subscribe to the admin channels; retried by Redis on reconnect")]
    public static partial void SubscribeFailed(ILogger logger, Exception exception);
}
