using Microsoft.Extensions.Logging;

namespace RoomSignal.Redis.Internal;

internal static partial class RedisBackplaneLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Redis backplane for hub {Hub} started as node {NodeId}")]
    public static partial void Started(ILogger logger, string hub, string nodeId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Redis backplane for hub {Hub} could not start; only this node's connections will be reached")]
    public static partial void StartFailed(ILogger logger, Exception exception, string hub);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Redis backplane unavailable ({Operation} failed); messages reach only this node's connections until Redis is back. Further failures during this outage are logged at Debug")]
    public static partial void OutageStarted(ILogger logger, Exception exception, string operation);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Redis backplane still unavailable: {Operation} failed")]
    public static partial void OutageContinues(ILogger logger, Exception exception, string operation);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Redis backplane available again")]
    public static partial void OutageEnded(ILogger logger);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Dropped a malformed backplane message on channel {Channel}")]
    public static partial void MessageFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Writing a backplane message to connection {ConnectionId} failed")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Handling a group command from node {NodeId} for connection {ConnectionId} failed")]
    public static partial void GroupCommandFailed(ILogger logger, Exception exception, string nodeId, string connectionId);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Node {NodeId} no longer listens; forgot its connections")]
    public static partial void NodeGone(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Registered {Count} local connections of hub {Hub} in Redis")]
    public static partial void Registered(ILogger logger, int count, string hub);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "No node owns connection {ConnectionId}; message dropped")]
    public static partial void NoSuchConnection(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Redis backplane for hub {Hub} is live: subscriptions confirmed, {Count} local connections registered")]
    public static partial void Live(ILogger logger, string hub, int count);
}
