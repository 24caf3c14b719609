namespace RoomSignal.Redis;

/// <summary>
/// Thrown by a send or group operation of <see cref="RedisHubLifetimeManager{THub}"/> when the part that must go
/// through Redis could not (Redis is unreachable or too slow). Connections on this node have been served already.
/// </summary>
public sealed class RedisBackplaneUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisBackplaneUnavailableException()
        : this("The Redis backplane is unavailable.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RedisBackplaneUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the Redis error behind it.</summary>
    public RedisBackplaneUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
