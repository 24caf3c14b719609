using RoomSignal.Redis;

namespace RoomSignal.Server.Limits;

/// <summary>
/// Whether this node takes new hub connections: not once it is stopping, and, with Redis configured, not while the
/// backplane is not ready (the backplane must subscribe each new connection's channel, and other nodes could not
/// reach it). Asked by <see cref="ConnectionAdmissionMiddleware"/> for every new connection, so it stays cheap:
/// a ready node answers from <see cref="IRedisBackplaneStatus.IsReady"/>, and a node that is not ready shares one
/// <see cref="IRedisBackplaneStatus.CheckAsync"/> among all the requests that arrive while it runs, and starts the next
/// at most every <see cref="RecheckInterval"/>.
/// </summary>
internal sealed class NodeAdmission
{
    /// <summary>The soonest a check that found the backplane not ready is tried again; requests meanwhile are refused at once.</summary>
    internal static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest a request waits for a check (one probe takes at most about twice the probe's 2 s).</summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    private static readonly Task<bool> NotReady = Task.FromResult(false);
    private static readonly Task<bool> Ready = Task.FromResult(true);

    private readonly IHostApplicationLifetime _lifetime;
    private readonly IRedisBackplaneStatus? _backplane;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Task<bool>? _check; // under _gate
    private long _checkStarted; // under _gate

    public NodeAdmission(IHostApplicationLifetime lifetime, TimeProvider time, IServiceProvider services)
    {
        _lifetime = lifetime;
        _time = time;
        _backplane = services.GetService<IRedisBackplaneStatus>(); // registered only with RoomSignal:Redis:Configuration
    }

    /// <summary>The host is stopping (SIGTERM): the node drains and will close its connections.</summary>
    public bool IsStopping => _lifetime.ApplicationStopping.IsCancellationRequested;

    /// <summary>No Redis is configured, or its backplane is ready (checked again now if it was not).</summary>
    public Task<bool> IsBackplaneReadyAsync()
    {
        if (_backplane is null || _backplane.IsReady)
        {
            return Ready;
        }

        lock (_gate)
        {
            if (_check is { IsCompleted: false } running)
            {
                return running;
            }

            if (_check is not null && _time.GetElapsedTime(_checkStarted) < RecheckInterval)
            {
                return NotReady;
            }

            _checkStarted = _time.GetTimestamp();
            return _check = CheckAsync(_backplane);
        }
    }

    private static async Task<bool> CheckAsync(IRedisBackplaneStatus backplane)
    {
        try
        {
            return await backplane.CheckAsync().WaitAsync(CheckTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or StackExchange.Redis.RedisException)
        {
            return false;
        }
    }
}
