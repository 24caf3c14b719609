namespace RoomSignal.Server.Limits;

internal static partial class LimitsLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Connection cap: {MaxConnections} WebSockets and {MaxConnections} other connections ({Source}; descriptor limit {DescriptorLimit}, {DescriptorsInUse} in use at start)")]
    public static partial void ConnectionCap(ILogger logger, int maxConnections, string source, string descriptorLimit, int descriptorsInUse);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Refused connection {ConnectionId}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Disconnected connection {ConnectionId} from {RemoteAddress}: it kept invoking past its rate limit ({Refusals} refusals within 10 s)")]
    public static partial void DisconnectedForFlooding(ILogger logger, string connectionId, string remoteAddress, int refusals);
}
