namespace RoomSignal.Server.Validation;

internal static partial class ValidationLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Refused {HubMethod} from {ConnectionId}: {Error}")]
    public static partial void InvalidArguments(ILogger logger, string hubMethod, string connectionId, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Hub method {HubMethod} failed unexpectedly for connection {ConnectionId}")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string hubMethod, string connectionId);

    // Debug: during an outage every call through Redis fails; the Redis connection reports the outage once at Error.
    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Hub method {HubMethod} of connection {ConnectionId} failed: Redis is unreachable")]
    public static partial void RedisUnavailable(ILogger logger, Exception exception, string hubMethod, string connectionId);
}
