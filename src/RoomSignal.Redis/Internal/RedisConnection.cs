using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RoomSignal.Redis.Internal;

internal sealed class RedisConnection : IRedisConnection, IAsyncDisposable
{
    private readonly RoomSignalRedisOptions _options;
    private readonly ILogger<RedisConnection> _logger;
    private readonly Lazy<Task<IConnectionMultiplexer>> _multiplexer;

    public RedisConnection(IOptions<RoomSignalRedisOptions> options, ILogger<RedisConnection> logger)
    {
        _options = options.Value;
        _logger = logger;
        Keys = new RedisKeyspace(_options.Prefix);
        _multiplexer = new Lazy<Task<IConnectionMultiplexer>>(ConnectAsync);
    }

    public RedisKeyspace Keys { get; }

    public bool IsConnected => _multiplexer.IsValueCreated
        && _multiplexer.Value.IsCompletedSuccessfully
        && _multiplexer.Value.Result.IsConnected;

    public Task<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken = default)
        => _multiplexer.Value.WaitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully)
        {
            await _multiplexer.Value.Result.CloseAsync(allowCommandsToComplete: false);
            _multiplexer.Value.Result.Dispose();
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration
            ?? throw new InvalidOperationException($"{RoomSignalRedisOptions.SectionName}:Configuration is not set."));

        // Start even while Redis is down and keep retrying in the background.
        configuration.AbortOnConnectFail = false;
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += (_, e) => RedisConnectionLog.ConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.ConnectionType.ToString(), e.FailureType.ToString());
        multiplexer.ConnectionRestored += (_, e) => RedisConnectionLog.ConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?", e.ConnectionType.ToString());
        RedisConnectionLog.Connecting(_logger, multiplexer.IsConnected);
        return multiplexer;
    }
}

internal static partial class RedisConnectionLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Redis multiplexer created; connected: {IsConnected}")]
    public static partial void Connecting(ILogger logger, bool isConnected);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Lost the Redis {ConnectionType} connection to {EndPoint}: {FailureType}; reconnecting in the background")]
    public static partial void ConnectionFailed(ILogger logger, string endPoint, string connectionType, string failureType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Redis {ConnectionType} connection to {EndPoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string endPoint, string connectionType);
}
