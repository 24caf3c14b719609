namespace RoomSignal.Server.Transport;

internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Direct WebSocket connection {ConnectionId} opened.")]
    public static partial void Connected(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Direct WebSocket connection {ConnectionId} closed.")]
    public static partial void Disconnected(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Direct WebSocket connection {ConnectionId} failed.")]
    public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "The heartbeat of direct WebSocket connection {ConnectionId} failed.")]
    public static partial void HeartbeatFailed(ILogger logger, string connectionId, Exception exception);
}
