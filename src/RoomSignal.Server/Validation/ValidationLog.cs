namespace RoomSignal.Server.Validation;

internal static partial class ValidationLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Refused {HubMethod} from {ConnectionId}: {Error}")]
    public static partial void InvalidArguments(ILogger logger, string hubMethod, string connectionId, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Hub method {HubMethod} failed unexpectedly for connection {ConnectionId}")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string hubMethod, string connectionId);
}
