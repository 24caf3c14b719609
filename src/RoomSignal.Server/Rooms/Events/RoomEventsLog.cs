namespace RoomSignal.Server.Rooms.Events;

internal static partial class RoomEventsLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Could not deliver {Kind} of {Subject} (seq {Seq}) in room {Room} to every local member")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, RoomEventKind kind, string subject, long seq, string room);
}
