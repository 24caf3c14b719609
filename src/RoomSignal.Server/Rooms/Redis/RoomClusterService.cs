using Microsoft.Extensions.Options;
using RoomSignal.Redis;
using StackExchange.Redis;

namespace RoomSignal.Server.Rooms.Redis;

/// <summary>
/// Keeps this node's place in the cluster: renews its heartbeat every third of the TTL, puts memberships
/// back when Redis lost them, reloads the local room copies after a reconnect, sweeps dead nodes (under
/// the sweep lock), and on a graceful stop removes the local memberships and tells their rooms.
/// </summary>
internal sealed class RoomClusterService(
    RedisRoomStore store,
    IRedisConnection redis,
    IOptions<RoomClusterOptions> options,
    TimeProvider time,
    ILogger<RoomClusterService> logger,
    IRedisBackplaneStatus? backplane = null) : IHostedLifecycleService
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);
    private readonly RoomClusterOptions _options = options.Value;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<IConnectionMultiplexer>? _multiplexer;
    private Task? _heartbeatLoop;
    private Task? _sweepLoop;
    private volatile bool _resyncRequested;
    private volatile bool _recoveryRequested;
    private long _healthySinceTicks = -1;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        store.ResyncNeeded += OnResyncNeeded;

        // The first connect may take the whole connect timeout while Redis is down; the host does not wait for it.
        _multiplexer = redis.GetMultiplexerAsync(CancellationToken.None);
        _ = _multiplexer.ContinueWith(
            connected =>
            {
                connected.Result.ConnectionFailed += OnConnectionFailed;
                connected.Result.ConnectionRestored += OnConnectionRestored;
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);

        // One beat before we accept connections, when Redis answers; otherwise the loop keeps trying.
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.HeartbeatInterval);
            await _multiplexer.WaitAsync(timeout.Token);
            await store.EnsureSubscribedAsync(timeout.Token);
            _ = await store.HeartbeatAsync(timeout.Token);
            MarkHealthy();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            RoomClusterLog.HeartbeatFailed(logger, ex);
        }

        // The first beat of the loop also removes memberships left in Redis by an earlier process with the same
        // configured node id (and tells their peers); with a generated id there are none and it costs one call.
        store.ReconcileNeeded = true;
        RoomClusterLog.Started(logger, store.NodeId, _options.HeartbeatTtl, _options.SweepInterval);
        _heartbeatLoop = Task.Run(HeartbeatLoopAsync, CancellationToken.None);
        _sweepLoop = Task.Run(SweepLoopAsync, CancellationToken.None);
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before any service stops (so before the server closes connections): drain and tell the rooms.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(DrainTimeout);
            var drained = await store.DrainAsync(timeout.Token);
            RoomClusterLog.Drained(logger, drained);
        }
        catch (Exception ex)
        {
            RoomClusterLog.DrainFailed(logger, ex);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        foreach (var loop in new[] { _heartbeatLoop, _sweepLoop })
        {
            if (loop is not null)
            {
                await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        store.ResyncNeeded -= OnResyncNeeded;
        try
        {
            if (_multiplexer is { IsCompletedSuccessfully: true } && redis.IsConnected)
            {
                var multiplexer = _multiplexer.Result;
                multiplexer.ConnectionFailed -= OnConnectionFailed;
                multiplexer.ConnectionRestored -= OnConnectionRestored;
                await store.DeregisterAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // The heartbeat expires by itself.
        }

        _stop.Dispose();
    }

    private async Task HeartbeatLoopAsync()
    {
        var failing = false;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await store.EnsureSubscribedAsync(token);
                var status = await store.HeartbeatAsync(token);
                MarkHealthy();
                if (backplane is not null)
                {
                    // After a reconnect, confirm the backplane again without waiting for a probe of /readyz or a join.
                    await backplane.CheckAsync(token);
                }

                if (failing)
                {
                    failing = false;
                    RoomClusterLog.HeartbeatRecovered(logger);
                }

                if (status == HeartbeatStatus.Swept)
                {
                    var forgotten = await store.ForgetSweptMembershipsAsync(token);
                    RoomClusterLog.WasSwept(logger, forgotten);
                    await store.ResyncAsync(token);
                }
                else if ((status == HeartbeatStatus.Lost || _recoveryRequested || store.ReconcileNeeded) && !store.IsStopping)
                {
                    _recoveryRequested = false;
                    _resyncRequested = false;
                    store.ReconcileNeeded = false;
                    var restored = await store.RestoreAsync(token);
                    // Every start and every failed leave asks for this check; only a real loss deserves a warning.
                    if (restored > 0)
                    {
                        RoomClusterLog.Restored(logger, restored);
                    }
                    else
                    {
                        RoomClusterLog.NothingToRestore(logger);
                    }
                }
                else if (_resyncRequested)
                {
                    _resyncRequested = false;
                    await store.ResyncAsync(token);
                    RoomClusterLog.Resynced(logger);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Interlocked.Exchange(ref _healthySinceTicks, -1);
                if (!failing)
                {
                    failing = true;
                    RoomClusterLog.HeartbeatFailed(logger, ex);
                }

                // What failed half-way is retried in full on the next beat.
                _resyncRequested = true;
            }

            await WaitAsync(failing ? TimeSpan.FromMilliseconds(Math.Min(1000, _options.HeartbeatInterval.TotalMilliseconds)) : _options.HeartbeatInterval, token);
        }
    }

    private async Task SweepLoopAsync()
    {
        var token = _stop.Token;
        using var timer = new PeriodicTimer(_options.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                // Sweep only after this node has itself been in touch with Redis for a whole TTL: after a Redis
                // outage every heartbeat may have expired, and live nodes need one TTL to renew theirs.
                var since = Interlocked.Read(ref _healthySinceTicks);
                if (since < 0 || store.IsStopping || time.GetUtcNow().UtcTicks - since < _options.HeartbeatTtl.Ticks)
                {
                    continue;
                }

                try
                {
                    await store.SweepAsync(token);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    RoomClusterLog.SweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken token)
    {
        var wake = Volatile.Read(ref _wake);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        var sleep = Task.Delay(delay, time, cts.Token);
        await Task.WhenAny(sleep, wake.Task);
        await cts.CancelAsync();
        if (wake.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
        }
    }

    private void Wake() => Volatile.Read(ref _wake).TrySetResult();

    private void MarkHealthy()
        => Interlocked.CompareExchange(ref _healthySinceTicks, time.GetUtcNow().UtcTicks, -1);

    private void OnResyncNeeded(bool wentBack)
    {
        if (wentBack)
        {
            _recoveryRequested = true;
        }
        else
        {
            _resyncRequested = true;
        }

        Wake();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
        => Interlocked.Exchange(ref _healthySinceTicks, -1);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Changes published while we were away are lost: reload, and let the next beat (now) check for a wipe.
        _resyncRequested = true;
        Wake();
    }
}
