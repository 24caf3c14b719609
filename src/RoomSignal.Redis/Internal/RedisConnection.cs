using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RoomSignal.Redis.Internal;

/// <summary>
/// Owns the one <see cref="ConnectionMultiplexer"/> of the process. The SignalR backplane gets it through its
/// <c>ConnectionFactory</c> as a non-owning view (<see cref="NonOwningMultiplexer"/>), so that the backplane's
/// <c>Dispose</c>, which unsubscribes everything and disposes its multiplexer, cannot tear it down under the room store.
/// </summary>
internal sealed class RedisConnection : IRedisConnection, IAsyncDisposable
{
    private readonly RoomSignalRedisOptions _options;
    private readonly ILogger<RedisConnection> _logger;
    private readonly Lazy<Task<IConnectionMultiplexer>> _multiplexer;
    private readonly Counter<long>? _backplanePublishes;
    private readonly Counter<long>? _backplanePublishErrors;
    private readonly Counter<long>? _backplaneUnheard;
    private int _down;
    private long _generation;

    /// <summary>
    /// With <paramref name="meterFactory"/>, counts the backplane's PUBLISHes (a message to a connection, group or user
    /// on another node, or to all) and their failures on the <c>RoomSignal</c> meter.
    /// </summary>
    public RedisConnection(IOptions<RoomSignalRedisOptions> options, ILogger<RedisConnection> logger, IMeterFactory? meterFactory = null)
    {
        _options = options.Value;
        _logger = logger;
        if (meterFactory is not null)
        {
            var meter = meterFactory.Create("RoomSignal");
            _backplanePublishes = meter.CreateCounter<long>("roomsignal.backplane.publishes", "{message}", "Messages the SignalR backplane published on Redis for other nodes (sends to remote connections, groups, all).");
            _backplanePublishErrors = meter.CreateCounter<long>("roomsignal.backplane.publish_errors", "{message}", "Backplane publishes that failed (Redis unreachable or timed out); those messages are lost.");
            _backplaneUnheard = meter.CreateCounter<long>("roomsignal.backplane.unheard", "{message}", "Backplane publishes Redis accepted but no node was subscribed to (a send to a connection whose node is gone or has not resubscribed yet after a Redis reconnect): lost.");
        }

        Keys = new RedisKeyspace(_options.Prefix);
        Configuration = BuildConfiguration(_options, Keys);
        _multiplexer = new Lazy<Task<IConnectionMultiplexer>>(ConnectAsync);
    }

    public RedisKeyspace Keys { get; }

    /// <summary>The configuration the multiplexer is built with (also shown to the backplane for its log).</summary>
    public ConfigurationOptions Configuration { get; }

    public bool IsConnected => _multiplexer.IsValueCreated
        && _multiplexer.Value.IsCompletedSuccessfully
        && _multiplexer.Value.Result.IsConnected;

    /// <summary>Bumped whenever the subscription connection drops or comes back: what was confirmed before must be confirmed again.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public Task<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken = default)
        => _multiplexer.Value.WaitAsync(cancellationToken);

    /// <summary>
    /// The backplane's <c>ConnectionFactory</c>. Hands out the shared multiplexer only once Redis answers: the backplane
    /// subscribes its channels right after and, should that fail, never tries again; refused, it asks again on its
    /// next connection or send.
    /// </summary>
    public async Task<IConnectionMultiplexer> ConnectBackplaneAsync(TextWriter log)
    {
        var multiplexer = await GetMultiplexerAsync();
        if (!await IsSubscriptionConnectedAsync(multiplexer))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is unreachable; the backplane starts once it answers.");
        }

        return NonOwningMultiplexer.Wrap(multiplexer, _backplanePublishes is null ? null : OnBackplanePublished);
    }

    private void OnBackplanePublished(Task publish)
    {
        if (publish.IsCompletedSuccessfully)
        {
            _backplanePublishes!.Add(1);
            if (publish is Task<long> { Result: 0 })
            {
                _backplaneUnheard!.Add(1); // PUBLISH answers the number of subscribers that received it
            }
        }
        else
        {
            _backplanePublishErrors!.Add(1);
        }
    }

    /// <summary>
    /// Whether the pub/sub connection answers a PING, waiting up to <paramref name="wait"/> (default 1 s) for it. The
    /// multiplexer reports itself connected once the command connection is up, while the pub/sub connection may still
    /// be connecting, and with <see cref="BacklogPolicy.FailFast"/> a SUBSCRIBE in that moment fails at once.
    /// </summary>
    public static async Task<bool> IsSubscriptionConnectedAsync(IConnectionMultiplexer multiplexer, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(1));
        var subscriber = multiplexer.GetSubscriber();
        while (multiplexer.IsConnected)
        {
            try
            {
                await subscriber.PingAsync(); // ISubscriber's PING goes over the pub/sub connection
                return true;
            }
            catch (Exception ex) when ((ex is RedisConnectionException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
                                       && DateTime.UtcNow < deadline)
            {
                // While the pub/sub connection is still being set up, a PING on it fails, or is cancelled when the
                // half-made connection is replaced; both mean "not yet".
                await Task.Delay(25, cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return false;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully)
        {
            var multiplexer = _multiplexer.Value.Result;
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            await multiplexer.DisposeAsync();
        }
    }

    internal static ConfigurationOptions BuildConfiguration(RoomSignalRedisOptions options, RedisKeyspace keys)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration
            ?? throw new InvalidOperationException($"{RoomSignalRedisOptions.SectionName}:Configuration is not set."));

        // Start even while Redis is down and keep retrying in the background (the parser's default is to give up).
        configuration.AbortOnConnectFail = false;
        // While Redis is unreachable every command fails at once with a clear error instead of queueing until its
        // timeout: sends to other nodes and joins are refused fast, and nothing stale is sent on reconnect.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ChannelPrefix = RedisChannel.Literal(keys.ChannelPrefix);
        configuration.ClientName ??= "roomsignal";
        // Socket I/O on the thread pool the hub already runs on, unless configured otherwise: a dedicated I/O thread
        // must be woken for every publish and every message read (docs/benchmarks.md measures the difference).
        configuration.SocketManager = options.SocketManager == RedisSocketManager.ThreadPool ? SocketManager.ThreadPool : null;

        return configuration;
    }

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(Configuration);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        if (multiplexer.IsConnected)
        {
            RedisConnectionLog.Connected(_logger, Keys.Prefix);
        }
        else
        {
            Interlocked.Exchange(ref _down, 1);
            RedisConnectionLog.NotReachableAtStart(_logger, string.Join(", ", Configuration.EndPoints));
        }

        return multiplexer;
    }

    // The pub/sub connection is the one the backplane and the change stream live on; log its state changes once
    // each, not once per connection type and endpoint.
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        Interlocked.Increment(ref _generation);
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            RedisConnectionLog.Lost(_logger, e.Exception, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        Interlocked.Increment(ref _generation);
        if (Interlocked.Exchange(ref _down, 0) == 1)
        {
            RedisConnectionLog.Restored(_logger, e.EndPoint?.ToString() ?? "?");
        }
    }
}

internal static partial class RedisConnectionLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Connected to Redis (prefix {Prefix})")]
    public static partial void Connected(ILogger logger, string prefix);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Lost Redis at {EndPoint} ({FailureType}); this node serves only its own connections and refuses new ones until Redis is back")]
    public static partial void Lost(ILogger logger, Exception? exception, string endPoint, string failureType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Redis at {EndPoint} is back; resubscribing")]
    public static partial void Restored(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Redis at {EndPoints} is unreachable at start; this node serves no connections until it answers")]
    public static partial void NotReachableAtStart(ILogger logger, string endPoints);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Backplane ready: Redis confirmed its subscriptions and the probe came back")]
    public static partial void BackplaneReady(ILogger logger);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Backplane probe failed")]
    public static partial void ProbeFailed(ILogger logger, Exception exception);
}
