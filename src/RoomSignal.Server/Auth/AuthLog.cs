namespace RoomSignal.Server.Auth;

internal static partial class AuthLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Access tokens are required: {KeyCount} signing key(s), issuer {Issuer}, audience {Audience}")]
    public static partial void Enabled(ILogger logger, int keyCount, string issuer, string audience);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Connection {ConnectionId} of user {UserId} was refused room {Room}: not in its token's rooms")]
    public static partial void JoinRefused(ILogger logger, string connectionId, string? userId, string room);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Refused an access token without a sub claim")]
    public static partial void NoSubject(ILogger logger);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Could not remove the profile of disconnected connection {ConnectionId}")]
    public static partial void ProfileRemoveFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "The peer directory cannot reach Redis; user ids of members on other nodes are missing until it is back")]
    public static partial void DirectoryUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "The peer directory reaches Redis again")]
    public static partial void DirectoryRecovered(ILogger logger);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Wrote the profiles of node {NodeId} to Redis (start, or Redis had lost them)")]
    public static partial void DirectoryRewritten(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Removed {Count} profiles of nodes that are gone")]
    public static partial void DirectorySwept(ILogger logger, int count);
}
