using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RoomSignal.Redis.Internal;
using StackExchange.Redis;

namespace RoomSignal.Redis;

/// <summary>
/// A SignalR <see cref="HubLifetimeManager{THub}"/> that makes every node sharing one Redis (and one
/// <see cref="RoomSignalRedisOptions.Prefix"/>) act as one hub. Register it with <c>AddSignalR().AddRoomSignalRedis()</c>.
/// </summary>
/// <remarks>
/// <para>Each message is serialized once per hub protocol on the sending node; receiving nodes copy ready bytes to
/// their connections. Connections on the sending node are written directly and never through Redis.</para>
/// <para>Channels: one per node for directed sends (connections, group commands, acknowledgements), one for
/// broadcasts, one per group and one per user, each subscribed only by the nodes that hold a member. The owner of each
/// connection is kept in one Redis hash and cached on every node, so a directed send is one publish.</para>
/// <para>While Redis is unreachable, local delivery goes on; the remote part of a send fails fast with
/// <see cref="RedisBackplaneUnavailableException"/> and one error is logged per outage. The multiplexer reconnects and
/// resubscribes by itself; on reconnect this node registers its connections again (a restarted Redis is empty).</para>
/// <para>A connection is registered only while this node's subscriptions are confirmed by Redis (see
/// <see cref="IRedisBackplaneStatus"/>), so no other node finds a connection whose messages would be lost.</para>
/// </remarks>
/// <typeparam name="THub">The hub type.</typeparam>
public sealed class RedisHubLifetimeManager<THub> : HubLifetimeManager<THub>, IRedisBackplaneStatus, IDisposable
    where THub : Hub
{
    private const int LockStripes = 64;
    private const int RegistrationBatchSize = 1000;

    // How long a node whose channel had no listener is not scanned for again.
    private static readonly TimeSpan GoneNodeMemory = TimeSpan.FromSeconds(10);

    // Deletes an owner entry only while it still names the node that went away.
    private const string DeleteOwnerIfScript =
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

    // KEYS[1] owner hash; ARGV[1] node channel prefix; ARGV[2] payload; ARGV[3..] connection ids. Publishes the
    // payload once to each distinct owner and returns { owner or '' per id, nodes nobody listened on }.
    private const string LookUpAndPublishScript = """
        local owners, published, gone = {}, {}, {}
        for i = 3, #ARGV do
          local owner = redis.call('HGET', KEYS[1], ARGV[i])
          if owner then
            owners[#owners + 1] = owner
            if published[owner] == nil then
              local receivers = redis.call('PUBLISH', ARGV[1] .. owner, ARGV[2])
              published[owner] = receivers
              if receivers == 0 then gone[#gone + 1] = owner end
            end
          else
            owners[#owners + 1] = ''
          end
        end
        return { owners, gone }
        """;

    private static readonly string HubName = typeof(THub).FullName ?? typeof(THub).Name;

    private readonly IRedisConnection _redis;
    private readonly IHubProtocolResolver _protocolResolver;
    private readonly RedisBackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RedisKeyspace _keys;
    private readonly RedisChannel _allChannel;
    private readonly RedisChannel _nodeChannel;
    private readonly RedisKey _ownersKey;
    private readonly string _nodeChannelPrefix;
    private readonly Action<RedisChannel, RedisValue> _onMessage;

    private readonly ConcurrentDictionary<string, LocalConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, HubConnectionContext>> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, HubConnectionContext>> _users = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _locks;
    private readonly ConnectionOwnerCache _owners;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<GroupAckStatus>> _pendingAcks = new();
    private readonly ConcurrentDictionary<string, long> _goneNodes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();
    private readonly Task<RedisHandles?> _started;
    private long _lastRequestId;
    private int _outage;
    private int _healing;
    private int _healRequested;
    private RedisHandles? _handles;

    // True while Redis has confirmed this node's subscriptions and every local connection has been registered since.
    private volatile bool _live;
    private int _failures;
    private TaskCompletionSource _healWake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the manager and starts subscribing to this node's channels.</summary>
    /// <param name="redis">The shared Redis connection.</param>
    /// <param name="protocolResolver">The hub protocols every message is serialized for.</param>
    /// <param name="options">Backplane settings.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="timeProvider">Clock for timeouts; <see cref="TimeProvider.System"/> when not given.</param>
    public RedisHubLifetimeManager(
        IRedisConnection redis,
        IHubProtocolResolver protocolResolver,
        IOptions<RedisBackplaneOptions> options,
        ILogger<RedisHubLifetimeManager<THub>> logger,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(protocolResolver);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _redis = redis;
        _protocolResolver = protocolResolver;
        _options = options.Value;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _keys = redis.Keys;
        NodeId = string.IsNullOrWhiteSpace(_options.NodeId)
            ? $"{SanitizedMachineName()}-{Guid.NewGuid().ToString("N")[..12]}"
            : _options.NodeId;
        _allChannel = Channel(_keys.BackplaneAll(HubName));
        _nodeChannelPrefix = _keys.BackplaneNode(HubName, string.Empty);
        _nodeChannel = NodeChannel(NodeId);
        _ownersKey = _keys.BackplaneOwners(HubName);
        _onMessage = OnMessage;
        _owners = new ConnectionOwnerCache(_options.OwnerCacheSize);
        _locks = new SemaphoreSlim[LockStripes];
        for (var i = 0; i < _locks.Length; i++)
        {
            _locks[i] = new SemaphoreSlim(1, 1);
        }

        _started = StartAsync();
    }

    /// <summary>This node's id on the backplane (its directed channel is named after it).</summary>
    public string NodeId { get; }

    // ---------------------------------------------------------------- connections

    /// <inheritdoc/>
    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var local = new LocalConnection(connection);
        _connections[connection.ConnectionId] = local;
        if (connection.UserIdentifier is { } user)
        {
            await AddToIndexAsync(_users, user, _keys.BackplaneUser(HubName, user), connection).ConfigureAwait(false);
        }

        if (!_live)
        {
            // Our subscriptions are not confirmed yet: a node that found this connection now would publish to a channel
            // nobody listens on (and sweep the entry). The heal loop registers it once they are. While we are starting
            // or Redis answers, that is a moment away, so wait for it; while Redis is down, do not hold the connection up.
            RequestHeal();
            if (!_started.IsCompleted || _redis.IsConnected)
            {
                await WaitUntilLiveAsync(_options.OperationTimeout).ConfigureAwait(false);
            }

            // Not live (Redis is down: the heal loop registers it later), or the heal loop has registered it already.
            if (!_live || local.Registered)
            {
                return;
            }
        }

        // Awaited, so that before the client can invoke anything every node can find this connection.
        try
        {
            await CallRedisAsync(r => r.Database.HashSetAsync(_ownersKey, connection.ConnectionId, NodeId), "registering a connection", CancellationToken.None).ConfigureAwait(false);
            local.Registered = true;
        }
        catch (RedisBackplaneUnavailableException)
        {
            // Logged once per outage; the connection is registered again when Redis is back.
            _live = false;
            RequestHeal();
        }
    }

    /// <inheritdoc/>
    public bool IsReady => _live && !_disposed.IsCancellationRequested;

    private async Task WaitUntilLiveAsync(TimeSpan timeout)
    {
        var started = _time.GetTimestamp();
        while (!_live && !_disposed.IsCancellationRequested && _time.GetElapsedTime(started) < timeout)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), _time, _disposed.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc/>
    public bool IsReachable(string connectionId)
        => IsReady && _connections.TryGetValue(connectionId, out var local) && local.Registered;

    /// <inheritdoc/>
    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!_connections.TryRemove(connection.ConnectionId, out var local))
        {
            return;
        }

        string[] groups;
        lock (local.Groups)
        {
            groups = [.. local.Groups];
        }

        foreach (var group in groups)
        {
            await RemoveLocalFromGroupAsync(local, group).ConfigureAwait(false);
        }

        if (connection.UserIdentifier is { } user)
        {
            await RemoveFromIndexAsync(_users, user, _keys.BackplaneUser(HubName, user), connection.ConnectionId).ConfigureAwait(false);
        }

        try
        {
            await CallRedisAsync(r => r.Database.HashDeleteAsync(_ownersKey, connection.ConnectionId), "unregistering a connection", CancellationToken.None).ConfigureAwait(false);
        }
        catch (RedisBackplaneUnavailableException)
        {
            // Logged once per outage. A leftover entry only costs memory: its node answers "unknown".
        }
    }

    // ---------------------------------------------------------------- sends

    /// <inheritdoc/>
    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default)
        => SendAllCoreAsync(methodName, args, [], cancellationToken);

    /// <inheritdoc/>
    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
        => SendAllCoreAsync(methodName, args, excludedConnectionIds ?? [], cancellationToken);

    /// <inheritdoc/>
    public override async Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (_connections.TryGetValue(connectionId, out var local))
        {
            await local.Context.WriteAsync(new InvocationMessage(methodName, args), cancellationToken).ConfigureAwait(false);
            return;
        }

        var messages = Serialize(methodName, args);
        if (_owners.TryGet(connectionId, out var owner))
        {
            await PublishToNodeAsync(owner, [connectionId], messages, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await LookUpAndPublishAsync([connectionId], messages, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override async Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionIds);
        List<HubConnectionContext>? locals = null;
        List<string>? remotes = null;
        foreach (var id in connectionIds)
        {
            if (_connections.TryGetValue(id, out var local))
            {
                (locals ??= []).Add(local.Context);
            }
            else
            {
                (remotes ??= []).Add(id);
            }
        }

        if (remotes is null)
        {
            if (locals is not null)
            {
                await WriteAsync(locals, new SerializedHubMessage(new InvocationMessage(methodName, args)), [], cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var messages = Serialize(methodName, args);
        var tasks = new List<Task>();
        if (locals is not null)
        {
            tasks.Add(WriteAsync(locals, new SerializedHubMessage(messages), [], cancellationToken));
        }

        // Known owners: one publish per node. Unknown ones: one script that looks them up and publishes.
        Dictionary<string, List<string>>? byNode = null;
        List<string>? misses = null;
        foreach (var id in remotes)
        {
            if (_owners.TryGet(id, out var owner))
            {
                byNode ??= new Dictionary<string, List<string>>(StringComparer.Ordinal);
                if (!byNode.TryGetValue(owner, out var ids))
                {
                    byNode[owner] = ids = [];
                }

                ids.Add(id);
            }
            else
            {
                (misses ??= []).Add(id);
            }
        }

        if (byNode is not null)
        {
            tasks.AddRange(byNode.Select(pair => PublishToNodeAsync(pair.Key, pair.Value, messages, cancellationToken)));
        }

        if (misses is not null)
        {
            tasks.Add(LookUpAndPublishAsync(misses, messages, cancellationToken));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        return SendIndexedAsync(InvocationScope.Group, groupName, Serialize(methodName, args), [], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupNames);
        var messages = Serialize(methodName, args);
        return Task.WhenAll(groupNames.Select(group =>
            SendIndexedAsync(InvocationScope.Group, group, messages, [], cancellationToken)));
    }

    /// <inheritdoc/>
    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        return SendIndexedAsync(InvocationScope.Group, groupName, Serialize(methodName, args), excludedConnectionIds ?? [], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return SendIndexedAsync(InvocationScope.User, userId, Serialize(methodName, args), [], cancellationToken);
    }

    /// <inheritdoc/>
    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var messages = Serialize(methodName, args);
        return Task.WhenAll(userIds.Select(user =>
            SendIndexedAsync(InvocationScope.User, user, messages, [], cancellationToken)));
    }

    // ---------------------------------------------------------------- groups

    /// <inheritdoc/>
    /// <remarks>
    /// For a connection on another node this sends a command to that node and returns once it has acknowledged, so the
    /// membership holds on every node when the returned task completes. Throws <see cref="InvalidOperationException"/>
    /// at once when no node has the connection, and <see cref="TimeoutException"/> after
    /// <see cref="RedisBackplaneOptions.AckTimeout"/> when its node does not answer.
    /// </remarks>
    public override async Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        if (_connections.TryGetValue(connectionId, out var local))
        {
            await AddLocalToGroupAsync(local, groupName).ConfigureAwait(false);
            return;
        }

        var owner = await FindOwnerAsync(connectionId, cancellationToken).ConfigureAwait(false);
        var status = owner is null
            ? GroupAckStatus.UnknownConnection
            : await SendGroupCommandAsync(owner, GroupAction.Add, connectionId, groupName, cancellationToken).ConfigureAwait(false);
        if (status == GroupAckStatus.UnknownConnection)
        {
            _owners.Forget(connectionId);
            throw new InvalidOperationException($"Cannot add connection '{connectionId}' to group '{groupName}': no node of this cluster has that connection.");
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// For a connection on another node this returns once that node has acknowledged. Removing a connection that no
    /// node has is not an error: it is in no group.
    /// </remarks>
    public override async Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        if (_connections.TryGetValue(connectionId, out var local))
        {
            await RemoveLocalFromGroupAsync(local, groupName).ConfigureAwait(false);
            return;
        }

        var owner = await FindOwnerAsync(connectionId, cancellationToken).ConfigureAwait(false);
        if (owner is not null
            && await SendGroupCommandAsync(owner, GroupAction.Remove, connectionId, groupName, cancellationToken).ConfigureAwait(false) == GroupAckStatus.UnknownConnection)
        {
            _owners.Forget(connectionId);
        }
    }

    // ---------------------------------------------------------------- client results

    /// <summary>Client results are not supported by this backplane.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken)
        => throw new NotSupportedException(
            "Client results (InvokeConnectionAsync, Clients.Client(id).InvokeAsync) are not supported by the RoomSignal Redis backplane; send a message and have the client invoke a hub method instead.");

    /// <summary>Client results are not supported by this backplane.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result)
        => throw new NotSupportedException("Client results are not supported by the RoomSignal Redis backplane.");

    /// <inheritdoc/>
    public override bool TryGetReturnType(string invocationId, [NotNullWhen(true)] out Type? type)
    {
        type = null;
        return false;
    }

    /// <summary>Stops listening: unsubscribes this node's channels and forgets its connections in Redis.</summary>
    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        foreach (var pending in _pendingAcks.Values)
        {
            pending.TrySetCanceled();
        }

        _live = false;
        if (_started.IsCompletedSuccessfully && _started.Result is { } redis)
        {
            redis.Multiplexer.ConnectionRestored -= OnConnectionRestored;
            redis.Multiplexer.ConnectionFailed -= OnConnectionFailed;
            try
            {
                redis.Subscriber.Unsubscribe(_nodeChannel, _onMessage, CommandFlags.FireAndForget);
                redis.Subscriber.Unsubscribe(_allChannel, _onMessage, CommandFlags.FireAndForget);
                foreach (var group in _groups.Keys)
                {
                    redis.Subscriber.Unsubscribe(Channel(_keys.BackplaneGroup(HubName, group)), _onMessage, CommandFlags.FireAndForget);
                }

                foreach (var user in _users.Keys)
                {
                    redis.Subscriber.Unsubscribe(Channel(_keys.BackplaneUser(HubName, user)), _onMessage, CommandFlags.FireAndForget);
                }

                var ids = _connections.Keys.Select(id => (RedisValue)id).ToArray();
                if (ids.Length > 0)
                {
                    redis.Database.HashDelete(_ownersKey, ids, CommandFlags.FireAndForget);
                }
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                // Best effort: Redis may be gone already.
            }
        }
    }

    // ---------------------------------------------------------------- start and recovery

    private async Task<RedisHandles?> StartAsync()
    {
        try
        {
            var multiplexer = await _redis.GetMultiplexerAsync(_disposed.Token).ConfigureAwait(false);
            var redis = new RedisHandles(multiplexer, multiplexer.GetSubscriber(), multiplexer.GetDatabase());
            multiplexer.ConnectionRestored += OnConnectionRestored;
            multiplexer.ConnectionFailed += OnConnectionFailed;

            // While Redis is down these return at once without reaching any server; the heal loop confirms them
            // (and makes again any that still have no server) before this node registers a connection.
            try
            {
                await Task.WhenAll(
                        redis.Subscriber.SubscribeAsync(_nodeChannel, _onMessage),
                        redis.Subscriber.SubscribeAsync(_allChannel, _onMessage))
                    .WaitAsync(_options.OperationTimeout, _time, _disposed.Token)
                    .ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                ReportOutage("subscribing to this node's channels", ex);
            }

            RedisBackplaneLog.Started(_logger, HubName, NodeId);

            // The heal loop confirms the subscriptions, then registers connections that arrived while we were starting.
            _handles = redis;
            RequestHeal();
            return redis;
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.StartFailed(_logger, ex, HubName);
            return null;
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // Until the heal loop has confirmed our subscriptions again, other nodes may find nobody on our channel and
        // sweep our owner entries: report the connections unreachable meanwhile.
        Interlocked.Increment(ref _failures);
        _live = false;
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Pub/sub subscriptions are restored by the multiplexer itself. What it cannot restore is the owner hash of
        // a restarted (empty) Redis, or entries another node swept while only our subscription was down: register
        // every local connection again. Both connection types trigger it; it retries until commands flow.
        RequestHeal();

        // Cut short a backoff wait that began while Redis was down: joins are refused until the heal is done.
        Volatile.Read(ref _healWake).TrySetResult();
    }

    private void RequestHeal()
    {
        Volatile.Write(ref _healRequested, 1);
        if (Interlocked.CompareExchange(ref _healing, 1, 0) == 0)
        {
            _ = HealAsync();
        }
    }

    /// <summary>
    /// Confirms this node's subscriptions, then registers every local connection in the owner hash, retrying with
    /// backoff until both succeed or the manager is disposed.
    /// </summary>
    private async Task HealAsync()
    {
        var delay = TimeSpan.FromMilliseconds(100);
        try
        {
            while (_handles is { } redis && Interlocked.Exchange(ref _healRequested, 0) == 1 && !_disposed.IsCancellationRequested)
            {
                var failures = Volatile.Read(ref _failures);
                if (await TryConfirmSubscriptionsAsync(redis).ConfigureAwait(false)
                    && await TryRegisterLocalConnectionsAsync(redis, failures).ConfigureAwait(false))
                {
                    if (Interlocked.Exchange(ref _outage, 0) == 1)
                    {
                        RedisBackplaneLog.OutageEnded(_logger);
                    }

                    delay = TimeSpan.FromMilliseconds(100);
                    continue;
                }

                Volatile.Write(ref _healRequested, 1);
                var wake = Volatile.Read(ref _healWake);
                await Task.WhenAny(Task.Delay(delay, _time, _disposed.Token), wake.Task).ConfigureAwait(false);
                _disposed.Token.ThrowIfCancellationRequested();
                if (wake.Task.IsCompleted)
                {
                    Interlocked.CompareExchange(ref _healWake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
                    delay = TimeSpan.FromMilliseconds(100);
                }
                else
                {
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Disposed.
        }
        finally
        {
            Volatile.Write(ref _healing, 0);
        }

        if (Volatile.Read(ref _healRequested) == 1 && _handles is not null && !_disposed.IsCancellationRequested)
        {
            RequestHeal();
        }
    }

    private async Task<bool> TryRegisterLocalConnectionsAsync(RedisHandles redis, int failures)
    {
        try
        {
            var count = 0;
            foreach (var batch in _connections.Values.Chunk(RegistrationBatchSize))
            {
                var entries = batch.Select(c => new HashEntry(c.Id, NodeId)).ToArray();
                await redis.Database.HashSetAsync(_ownersKey, entries).WaitAsync(_options.OperationTimeout, _time).ConfigureAwait(false);
                foreach (var local in batch)
                {
                    local.Registered = true;
                }

                count += entries.Length;
            }

            if (count > 0)
            {
                RedisBackplaneLog.Registered(_logger, count, HubName);
            }

            if (failures != Volatile.Read(ref _failures))
            {
                // A connection failed while we were at it: what we confirmed may not hold any more. Go again.
                Volatile.Write(ref _healRequested, 1);
            }
            else if (!_live)
            {
                _live = true;
                RedisBackplaneLog.Live(_logger, HubName, count);
            }

            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RedisBackplaneLog.OutageContinues(_logger, ex, "registering this node's connections");
            return false;
        }
    }

    /// <summary>
    /// Makes sure Redis holds every subscription of this node, and proves the node channel delivers: a probe published
    /// on it must come back. A subscription made while Redis was down never reached a server; StackExchange.Redis
    /// 1.2.6 re-sends on reconnect only subscriptions a server held and leaves the others to a later
    /// reconfiguration, so one still without a server is made again here.
    /// </summary>
    private async Task<bool> TryConfirmSubscriptionsAsync(RedisHandles redis)
    {
        try
        {
            foreach (var channel in new[] { _nodeChannel, _allChannel })
            {
                if (!await EnsureServerSubscriptionAsync(redis, channel, null).ConfigureAwait(false))
                {
                    return false;
                }
            }

            foreach (var (index, channelOf) in new[] { (_groups, (Func<string, string>)(g => _keys.BackplaneGroup(HubName, g))), (_users, u => _keys.BackplaneUser(HubName, u)) })
            {
                foreach (var name in index.Keys)
                {
                    if (!await EnsureServerSubscriptionAsync(redis, Channel(channelOf(name)), () => index.TryGetValue(name, out var members) && !members.IsEmpty).ConfigureAwait(false))
                    {
                        return false;
                    }
                }
            }

            return await ProbeNodeChannelAsync(redis).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RedisBackplaneLog.OutageContinues(_logger, ex, "confirming this node's subscriptions");
            return false;
        }
    }

    /// <summary>Subscribes <paramref name="channel"/> again when no server holds it; false while that is not possible.</summary>
    private async Task<bool> EnsureServerSubscriptionAsync(RedisHandles redis, RedisChannel channel, Func<bool>? stillWanted)
    {
        if (redis.Subscriber.SubscribedEndpoint(channel) is not null)
        {
            return true;
        }

        var gate = Gate(channel.ToString()!);
        await gate.WaitAsync(_disposed.Token).ConfigureAwait(false);
        try
        {
            if (redis.Subscriber.SubscribedEndpoint(channel) is not null || (stillWanted is not null && !stillWanted()))
            {
                return true;
            }

            // Drop our handler (the only one) and subscribe afresh, so that the subscription goes to the server now.
            await redis.Subscriber.UnsubscribeAsync(channel, _onMessage).WaitAsync(_options.OperationTimeout, _time).ConfigureAwait(false);
            await redis.Subscriber.SubscribeAsync(channel, _onMessage).WaitAsync(_options.OperationTimeout, _time).ConfigureAwait(false);
            return redis.Subscriber.SubscribedEndpoint(channel) is not null;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Publishes an acknowledgement to this node's own channel and waits for it to come back.</summary>
    private async Task<bool> ProbeNodeChannelAsync(RedisHandles redis)
    {
        var requestId = Interlocked.Increment(ref _lastRequestId);
        var pending = new TaskCompletionSource<GroupAckStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingAcks[requestId] = pending;
        try
        {
            var probe = BackplaneCodec.Encode(new BackplaneGroupAck(requestId, GroupAckStatus.Done));
            var receivers = await redis.Subscriber.PublishAsync(_nodeChannel, probe).WaitAsync(_options.OperationTimeout, _time).ConfigureAwait(false);
            if (receivers == 0)
            {
                return false;
            }

            await pending.Task.WaitAsync(_options.OperationTimeout, _time, _disposed.Token).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _pendingAcks.TryRemove(requestId, out _);
        }
    }

    // ---------------------------------------------------------------- receiving

    private void OnMessage(RedisChannel channel, RedisValue value)
    {
        // Pub/sub callbacks never throw: a bad message is logged and dropped.
        try
        {
            byte[]? bytes = value;
            if (bytes is null || _disposed.IsCancellationRequested)
            {
                return;
            }

            switch (BackplaneCodec.Decode(bytes))
            {
                case BackplaneInvocation invocation:
                    Deliver(invocation);
                    break;
                case BackplaneGroupCommand command:
                    _ = HandleGroupCommandAsync(command);
                    break;
                case BackplaneGroupAck ack:
                    if (_pendingAcks.TryRemove(ack.RequestId, out var pending))
                    {
                        pending.TrySetResult(ack.Status);
                    }

                    break;
            }
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.MessageFailed(_logger, ex, channel.ToString() ?? "?");
        }
    }

    private void Deliver(BackplaneInvocation invocation)
    {
        // The sender has written its own connections already (broadcasts come back to it from Redis).
        if (invocation.Scope != InvocationScope.Connections && invocation.SenderNode == NodeId)
        {
            return;
        }

        var message = new SerializedHubMessage(invocation.Messages);
        switch (invocation.Scope)
        {
            case InvocationScope.All:
                foreach (var local in _connections.Values)
                {
                    if (!IsExcluded(invocation.Excluded, local.Id))
                    {
                        WriteAndForget(local.Context, message);
                    }
                }

                break;
            case InvocationScope.Connections:
                foreach (var id in invocation.Targets)
                {
                    if (_connections.TryGetValue(id, out var local))
                    {
                        WriteAndForget(local.Context, message);
                    }
                }

                break;
            case InvocationScope.Group:
            case InvocationScope.User:
                var index = invocation.Scope == InvocationScope.Group ? _groups : _users;
                if (invocation.Targets.Count == 1 && index.TryGetValue(invocation.Targets[0], out var members))
                {
                    foreach (var member in members.Values)
                    {
                        if (!IsExcluded(invocation.Excluded, member.ConnectionId))
                        {
                            WriteAndForget(member, message);
                        }
                    }
                }

                break;
        }
    }

    private void WriteAndForget(HubConnectionContext connection, SerializedHubMessage message)
    {
        // Not awaited, so one slow client cannot stall the subscription; HubConnectionContext keeps writes in order.
        try
        {
            var write = connection.WriteAsync(message);
            if (!write.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(write, connection.ConnectionId);
            }
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.WriteFailed(_logger, ex, connection.ConnectionId);
        }
    }

    private async Task ObserveAsync(ValueTask write, string connectionId)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.WriteFailed(_logger, ex, connectionId);
        }
    }

    private async Task HandleGroupCommandAsync(BackplaneGroupCommand command)
    {
        try
        {
            var status = GroupAckStatus.UnknownConnection;
            if (_connections.TryGetValue(command.ConnectionId, out var local))
            {
                if (command.Action == GroupAction.Add)
                {
                    await AddLocalToGroupAsync(local, command.Group).ConfigureAwait(false);
                }
                else
                {
                    await RemoveLocalFromGroupAsync(local, command.Group).ConfigureAwait(false);
                }

                status = GroupAckStatus.Done;
            }

            var ack = BackplaneCodec.Encode(new BackplaneGroupAck(command.RequestId, status));
            await CallRedisAsync(r => r.Subscriber.PublishAsync(NodeChannel(command.ReplyNode), ack), "acknowledging a group command", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RedisBackplaneLog.GroupCommandFailed(_logger, ex, command.ReplyNode, command.ConnectionId);
        }
    }

    // ---------------------------------------------------------------- sending helpers

    private async Task SendAllCoreAsync(string methodName, object?[] args, IReadOnlyList<string> excluded, CancellationToken cancellationToken)
    {
        var messages = Serialize(methodName, args);
        var localWrite = WriteAsync(_connections.Values.Select(c => c.Context), new SerializedHubMessage(messages), excluded, cancellationToken);
        var payload = BackplaneCodec.Encode(new BackplaneInvocation(NodeId, InvocationScope.All, [], excluded, messages));
        var publish = CallRedisAsync(r => r.Subscriber.PublishAsync(_allChannel, payload), "a broadcast", cancellationToken);
        await Task.WhenAll(localWrite, publish).ConfigureAwait(false);
    }

    /// <summary>Writes the local members of a group or user, and publishes to its channel for the other nodes.</summary>
    private async Task SendIndexedAsync(InvocationScope scope, string name, SerializedMessage[] messages, IReadOnlyList<string> excluded, CancellationToken cancellationToken)
    {
        var (index, channel) = scope == InvocationScope.Group
            ? (_groups, _keys.BackplaneGroup(HubName, name))
            : (_users, _keys.BackplaneUser(HubName, name));
        var localWrite = index.TryGetValue(name, out var members)
            ? WriteAsync(members.Values, new SerializedHubMessage(messages), excluded, cancellationToken)
            : Task.CompletedTask;
        var payload = BackplaneCodec.Encode(new BackplaneInvocation(NodeId, scope, [name], excluded, messages));
        var publish = CallRedisAsync(r => r.Subscriber.PublishAsync(Channel(channel), payload), scope == InvocationScope.Group ? "a group send" : "a user send", cancellationToken);
        await Task.WhenAll(localWrite, publish).ConfigureAwait(false);
    }

    private async Task PublishToNodeAsync(string nodeId, IReadOnlyList<string> connectionIds, SerializedMessage[] messages, CancellationToken cancellationToken)
    {
        var payload = BackplaneCodec.Encode(new BackplaneInvocation(NodeId, InvocationScope.Connections, connectionIds, [], messages));
        var receivers = await CallRedisAsync(r => r.Subscriber.PublishAsync(NodeChannel(nodeId), payload), "a send to a connection", cancellationToken).ConfigureAwait(false);
        if (receivers == 0)
        {
            ForgetNode(nodeId, connectionIds);
        }
    }

    private async Task<GroupAckStatus> SendGroupCommandAsync(string nodeId, GroupAction action, string connectionId, string group, CancellationToken cancellationToken)
    {
        var requestId = Interlocked.Increment(ref _lastRequestId);
        var pending = new TaskCompletionSource<GroupAckStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingAcks[requestId] = pending;
        try
        {
            var payload = BackplaneCodec.Encode(new BackplaneGroupCommand(requestId, NodeId, action, connectionId, group));
            var receivers = await CallRedisAsync(r => r.Subscriber.PublishAsync(NodeChannel(nodeId), payload), "a group command", cancellationToken).ConfigureAwait(false);
            if (receivers == 0)
            {
                // Nobody listens on that node's channel: the node and its connections are gone.
                ForgetNode(nodeId, [connectionId]);
                return GroupAckStatus.UnknownConnection;
            }

            try
            {
                return await pending.Task.WaitAsync(_options.AckTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                var verb = action == GroupAction.Add ? "adding connection '{0}' to" : "removing connection '{0}' from";
                throw new TimeoutException(
                    $"Node '{nodeId}' did not acknowledge {string.Format(System.Globalization.CultureInfo.InvariantCulture, verb, connectionId)} group '{group}' within {_options.AckTimeout.TotalSeconds:0.###} s.");
            }
        }
        finally
        {
            _pendingAcks.TryRemove(requestId, out _);
        }
    }

    private void ForgetNode(string nodeId, IReadOnlyList<string> connectionIds)
    {
        // A node can be without a listener only for a moment (its subscription reconnecting), so nothing is
        // refused on this basis; remembering it for a while only spares a burst of sends a cache scan each.
        if (!_goneNodes.TryGetValue(nodeId, out var since) || _time.GetElapsedTime(since) > GoneNodeMemory)
        {
            _goneNodes[nodeId] = _time.GetTimestamp();
            RedisBackplaneLog.NodeGone(_logger, nodeId);
            _owners.ForgetNode(nodeId);
        }

        if (_started.IsCompletedSuccessfully && _started.Result is { } redis)
        {
            // Sweep the entries we tripped over; the node registers them again should it come back.
            foreach (var id in connectionIds)
            {
                _ = redis.Database.ScriptEvaluateAsync(DeleteOwnerIfScript, [_ownersKey], [id, nodeId], CommandFlags.FireAndForget);
            }
        }
    }

    private async Task<string?> FindOwnerAsync(string connectionId, CancellationToken cancellationToken)
    {
        if (_owners.TryGet(connectionId, out var cached))
        {
            return cached;
        }

        var owner = (string?)await CallRedisAsync(r => r.Database.HashGetAsync(_ownersKey, connectionId), "looking up a connection", cancellationToken).ConfigureAwait(false);
        if (owner is null || owner == NodeId)
        {
            // Not registered, or registered here but already gone.
            return null;
        }

        _owners.Set(connectionId, owner);
        return owner;
    }

    /// <summary>
    /// Sends to connections whose owner this node does not know yet, in one round trip: a script looks each owner up
    /// in the owner hash and publishes the message once to every owning node (a node delivers only to the targets it
    /// holds). The owners it found are cached, so the next message is a plain publish.
    /// </summary>
    private async Task LookUpAndPublishAsync(IReadOnlyList<string> connectionIds, SerializedMessage[] messages, CancellationToken cancellationToken)
    {
        var payload = BackplaneCodec.Encode(new BackplaneInvocation(NodeId, InvocationScope.Connections, connectionIds, [], messages));
        var values = new RedisValue[connectionIds.Count + 2];
        values[0] = _nodeChannelPrefix;
        values[1] = payload;
        for (var i = 0; i < connectionIds.Count; i++)
        {
            values[i + 2] = connectionIds[i];
        }

        var result = await CallRedisAsync(r => r.Database.ScriptEvaluateAsync(LookUpAndPublishScript, [_ownersKey], values), "a send to a connection", cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var owners = (RedisResult[])parts[0]!;
        var gone = ((RedisResult[])parts[1]!).Select(r => (string)r!).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < connectionIds.Count && i < owners.Length; i++)
        {
            var owner = (string?)owners[i];
            if (string.IsNullOrEmpty(owner) || owner == NodeId)
            {
                // Not registered, or registered here but already gone.
                RedisBackplaneLog.NoSuchConnection(_logger, connectionIds[i]);
            }
            else if (!gone.Contains(owner))
            {
                _owners.Set(connectionIds[i], owner);
            }
        }

        foreach (var node in gone)
        {
            ForgetNode(node, [.. connectionIds.Where((_, i) => i < owners.Length && (string?)owners[i] == node)]);
        }
    }

    private SerializedMessage[] Serialize(string methodName, object?[] args)
    {
        var message = new InvocationMessage(methodName, args);
        var protocols = _protocolResolver.AllProtocols;
        var serialized = new SerializedMessage[protocols.Count];
        for (var i = 0; i < protocols.Count; i++)
        {
            serialized[i] = new SerializedMessage(protocols[i].Name, protocols[i].GetMessageBytes(message));
        }

        return serialized;
    }

    private static Task WriteAsync(IEnumerable<HubConnectionContext> connections, SerializedHubMessage message, IReadOnlyList<string> excluded, CancellationToken cancellationToken)
    {
        List<Task>? pending = null;
        foreach (var connection in connections)
        {
            if (IsExcluded(excluded, connection.ConnectionId))
            {
                continue;
            }

            var write = connection.WriteAsync(message, cancellationToken);
            if (!write.IsCompletedSuccessfully)
            {
                (pending ??= []).Add(write.AsTask());
            }
        }

        return pending is null ? Task.CompletedTask : Task.WhenAll(pending);
    }

    private static bool IsExcluded(IReadOnlyList<string> excluded, string connectionId)
    {
        for (var i = 0; i < excluded.Count; i++)
        {
            if (string.Equals(excluded[i], connectionId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // ---------------------------------------------------------------- local membership

    private async Task AddLocalToGroupAsync(LocalConnection local, string group)
    {
        lock (local.Groups)
        {
            if (!local.Groups.Add(group))
            {
                return;
            }
        }

        await AddToIndexAsync(_groups, group, _keys.BackplaneGroup(HubName, group), local.Context).ConfigureAwait(false);
        if (!_connections.ContainsKey(local.Id))
        {
            // Raced with the disconnect: undo.
            await RemoveLocalFromGroupAsync(local, group).ConfigureAwait(false);
        }
    }

    private async Task RemoveLocalFromGroupAsync(LocalConnection local, string group)
    {
        lock (local.Groups)
        {
            if (!local.Groups.Remove(group))
            {
                return;
            }
        }

        await RemoveFromIndexAsync(_groups, group, _keys.BackplaneGroup(HubName, group), local.Id).ConfigureAwait(false);
    }

    /// <summary>Adds a member to a group or user index, subscribing to its channel when it is the first one here.</summary>
    private async Task AddToIndexAsync(
        ConcurrentDictionary<string, ConcurrentDictionary<string, HubConnectionContext>> index, string name, string channel, HubConnectionContext connection)
    {
        var gate = Gate(channel);
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var members = index.GetOrAdd(name, _ => new ConcurrentDictionary<string, HubConnectionContext>(StringComparer.Ordinal));
            var first = members.IsEmpty;
            members[connection.ConnectionId] = connection;
            if (first)
            {
                await SubscribeAsync(Channel(channel)).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Removes a member from a group or user index, unsubscribing from its channel when it was the last one here.</summary>
    private async Task RemoveFromIndexAsync(
        ConcurrentDictionary<string, ConcurrentDictionary<string, HubConnectionContext>> index, string name, string channel, string connectionId)
    {
        var gate = Gate(channel);
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (index.TryGetValue(name, out var members) && members.TryRemove(connectionId, out _) && members.IsEmpty)
            {
                index.TryRemove(name, out _);
                await UnsubscribeAsync(Channel(channel)).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task SubscribeAsync(RedisChannel channel)
    {
        try
        {
            // While Redis is down this returns at once and the multiplexer subscribes when it reconnects.
            await CallRedisAsync(async r => { await r.Subscriber.SubscribeAsync(channel, _onMessage).ConfigureAwait(false); return true; }, "subscribing", CancellationToken.None).ConfigureAwait(false);
        }
        catch (RedisBackplaneUnavailableException)
        {
            // Logged once per outage; local members are served meanwhile.
        }
    }

    private async Task UnsubscribeAsync(RedisChannel channel)
    {
        try
        {
            await CallRedisAsync(async r => { await r.Subscriber.UnsubscribeAsync(channel, _onMessage).ConfigureAwait(false); return true; }, "unsubscribing", CancellationToken.None).ConfigureAwait(false);
        }
        catch (RedisBackplaneUnavailableException)
        {
            // At worst this node keeps receiving a channel it ignores.
        }
    }

    private SemaphoreSlim Gate(string channel) => _locks[(uint)StringComparer.Ordinal.GetHashCode(channel) % LockStripes];

    // ---------------------------------------------------------------- Redis calls

    /// <summary>
    /// Runs one Redis call, bounded by <see cref="RedisBackplaneOptions.OperationTimeout"/>. Any failure becomes a
    /// <see cref="RedisBackplaneUnavailableException"/>; the first one of an outage is logged as an error.
    /// </summary>
    private async Task<T> CallRedisAsync<T>(Func<RedisHandles, Task<T>> call, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var redis = _started.IsCompletedSuccessfully
                ? _started.Result
                : await _started.WaitAsync(_options.OperationTimeout, _time, cancellationToken).ConfigureAwait(false);
            if (redis is null)
            {
                throw new RedisBackplaneUnavailableException("The Redis backplane did not start; see the earlier error.");
            }

            var result = await call(redis).WaitAsync(_options.OperationTimeout, _time, cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref _outage) == 1 && Interlocked.Exchange(ref _outage, 0) == 1)
            {
                RedisBackplaneLog.OutageEnded(_logger);
            }

            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            ReportOutage(operation, ex);
            throw new RedisBackplaneUnavailableException(
                $"The Redis backplane is unavailable: {operation} reached only the connections on this node.", ex);
        }
    }

    private void ReportOutage(string operation, Exception exception)
    {
        if (Interlocked.Exchange(ref _outage, 1) == 0)
        {
            RedisBackplaneLog.OutageStarted(_logger, exception, operation);
        }
        else
        {
            RedisBackplaneLog.OutageContinues(_logger, exception, operation);
        }
    }

    private static RedisChannel Channel(string name) => new(name, RedisChannel.PatternMode.Literal);

    // Another node's directed channel: the same name RedisKeyspace.BackplaneNode builds, without joining its parts per send.
    private RedisChannel NodeChannel(string nodeId) => Channel(_nodeChannelPrefix + nodeId);

    private static string SanitizedMachineName()
    {
        var chars = Environment.MachineName.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-').Take(30).ToArray();
        return chars.Length == 0 ? "node" : new string(chars);
    }

    private sealed record RedisHandles(IConnectionMultiplexer Multiplexer, ISubscriber Subscriber, IDatabase Database);
}
