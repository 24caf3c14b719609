using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RoomSignal.Redis.Internal;

/// <summary>
/// Readiness of the official SignalR Redis backplane of <typeparamref name="THub"/> over the shared connection:
/// Redis answers, the backplane's own subscriptions (broadcast and group commands) are confirmed by Redis, and a
/// probe sent through the backplane to a pretend connection of this node came back since the last reconnect.
/// </summary>
internal sealed class RedisBackplaneStatus<THub> : IRedisBackplaneStatus, IDisposable where THub : Hub
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly RedisConnection _redis;
    private readonly IServiceProvider _services;
    private readonly ILogger<RedisBackplaneStatus<THub>> _logger;
    private readonly string _hub = typeof(THub).FullName!;
    private readonly string _probeConnectionId;
    private readonly RedisChannel _probeChannel;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _probeSubscribed; // under _gate
    private volatile TaskCompletionSource? _probe;
    private long _readyGeneration = -1;

    public RedisBackplaneStatus(RedisConnection redis, IServiceProvider services, ILogger<RedisBackplaneStatus<THub>> logger)
    {
        _redis = redis;
        _services = services;
        _logger = logger;
        _probeConnectionId = redis.Keys.ProbeConnectionId(Guid.NewGuid().ToString("N")[..16]);
        _probeChannel = redis.Keys.BackplaneConnectionChannel(_hub, _probeConnectionId);
    }

    public bool IsReady => _redis.IsConnected
        && Interlocked.Read(ref _readyGeneration) == _redis.Generation
        && _multiplexer is { } multiplexer
        && BackplaneSubscribed(multiplexer.GetSubscriber());

    public async Task<bool> CheckAsync(CancellationToken cancellationToken = default)
    {
        if (IsReady)
        {
            return true;
        }

        if (!_redis.IsConnected)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (IsReady)
            {
                return true;
            }

            var generation = _redis.Generation;
            var multiplexer = _multiplexer ??= await _redis.GetMultiplexerAsync(cancellationToken);
            if (!await RedisConnection.IsSubscriptionConnectedAsync(multiplexer, cancellationToken: cancellationToken))
            {
                return false;
            }

            var subscriber = multiplexer.GetSubscriber();
            if (!_probeSubscribed)
            {
                // StackExchange.Redis 2.x keeps a subscription even when the first SUBSCRIBE fails and sends it again
                // on every reconnect, so the handler is added once for the life of the process.
                _probeSubscribed = true;
                await subscriber.SubscribeAsync(_probeChannel, OnProbe).WaitAsync(ProbeTimeout, cancellationToken);
            }

            var probe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _probe = probe;

            // Through the backplane, as a send to a connection on another node: this also starts the backplane (it
            // connects and subscribes on first use) when no connection or send has done so yet.
            var manager = _services.GetRequiredService<HubLifetimeManager<THub>>();
            await manager.SendConnectionAsync(_probeConnectionId, "probe", [], cancellationToken).WaitAsync(ProbeTimeout, cancellationToken);
            await probe.Task.WaitAsync(ProbeTimeout, cancellationToken);

            if (!BackplaneSubscribed(subscriber) || _redis.Generation != generation)
            {
                return false;
            }

            if (Interlocked.Exchange(ref _readyGeneration, generation) != generation)
            {
                RedisConnectionLog.BackplaneReady(_logger);
            }

            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            RedisConnectionLog.ProbeFailed(_logger, ex);
            return false;
        }
        finally
        {
            _probe = null;
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private bool BackplaneSubscribed(ISubscriber subscriber)
        => subscriber.SubscribedEndpoint(_redis.Keys.BackplaneAllChannel(_hub)) is not null
        && subscriber.SubscribedEndpoint(_redis.Keys.BackplaneGroupCommandsChannel(_hub)) is not null;

    private void OnProbe(RedisChannel channel, RedisValue message) => _probe?.TrySetResult();
}
