using System.Threading.RateLimiting;

namespace RoomSignal.Server.Limits;

/// <summary>What the limits filter keeps per hub connection (in <c>HubCallerContext.Items</c>).</summary>
internal sealed class ConnectionLimitState : IDisposable
{
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private bool _closed;

    public ConnectionLimitState(LimitsOptions options, string? remoteAddress, string? userId)
    {
        RemoteAddress = remoteAddress;
        UserId = userId;
        Invocations = Bucket(options.InvocationBurst, options.InvocationsPerSecond, TimeSpan.FromSeconds(1));
        Joins = Bucket(options.JoinBurst, options.JoinsPerSecond, TimeSpan.FromSeconds(1));
        // Refusals drain this bucket; once it is empty the connection is dropped. It refills completely in 10 s.
        Strikes = Bucket(options.DisconnectAfterRefusals, options.DisconnectAfterRefusals, TimeSpan.FromSeconds(10));
    }

    public string? RemoteAddress { get; }

    public string? UserId { get; }

    public TokenBucketRateLimiter Invocations { get; }

    public TokenBucketRateLimiter Joins { get; }

    public TokenBucketRateLimiter Strikes { get; }

    /// <summary>Set once the connection was told to go for flooding, so it is reported once.</summary>
    public bool Disconnecting { get; set; }

    public int RoomCount
    {
        get
        {
            lock (_rooms)
            {
                return _rooms.Count;
            }
        }
    }

    public bool IsIn(string room)
    {
        lock (_rooms)
        {
            return _rooms.Contains(room);
        }
    }

    /// <summary>
    /// Records a completed join and counts it with <paramref name="counted"/> (whether the room is new to the connection)
    /// under the same lock as <see cref="TakeRooms"/>, so a join that completes while its connection is being
    /// disconnected is counted and taken back in that order, or not at all once the connection is gone.
    /// </summary>
    public void AddRoom(string room, Action<string, bool> counted)
    {
        lock (_rooms)
        {
            if (!_closed)
            {
                counted(room, _rooms.Add(room));
            }
        }
    }

    public bool RemoveRoom(string room)
    {
        lock (_rooms)
        {
            return _rooms.Remove(room);
        }
    }

    /// <summary>The connection is gone: calls <paramref name="left"/> for each of its rooms and admits no more.</summary>
    public void TakeRooms(Action<string> left)
    {
        lock (_rooms)
        {
            _closed = true;
            foreach (var room in _rooms)
            {
                left(room);
            }

            _rooms.Clear();
        }
    }

    public void Dispose()
    {
        Invocations.Dispose();
        Joins.Dispose();
        Strikes.Dispose();
    }

    private static TokenBucketRateLimiter Bucket(int limit, int perPeriod, TimeSpan period) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = limit,
        TokensPerPeriod = Math.Max(1, perPeriod),
        ReplenishmentPeriod = period,
        QueueLimit = 0,
        // One timer per bucket per connection would cost thousands of timers on a full node: the filter calls
        // TryReplenish before each acquire instead, which adds what the time since the last call earned.
        AutoReplenishment = false,
    });

    /// <summary>Takes one token from <paramref name="bucket"/> after crediting it the time since its last use.</summary>
    public static bool TryTake(TokenBucketRateLimiter bucket)
    {
        bucket.TryReplenish();
        using var lease = bucket.AttemptAcquire(1);
        return lease.IsAcquired;
    }
}
