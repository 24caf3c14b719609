using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Client;
using RoomSignal.Contracts;

namespace RoomSignal.Testing;

/// <summary>One message a <see cref="TestPeer"/> received: the event name (<see cref="RoomClientEvents"/>) and its payload.</summary>
/// <param name="Event">The event, e.g. <see cref="RoomClientEvents.Offer"/>.</param>
/// <param name="Payload">The message record.</param>
public sealed record ReceivedMessage(string Event, object Payload);

/// <summary>
/// A started <see cref="RoomSignalClient"/> that records every server message in arrival order, so a test can
/// wait for one (time-boxed) or assert what never arrived.
/// </summary>
public sealed class TestPeer : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedMessage> _received = new();

    private TestPeer(RoomSignalClient client)
    {
        Client = client;
        client.Created += m => Record(RoomClientEvents.Created, m);
        client.Joined += m => Record(RoomClientEvents.Joined, m);
        client.Offer += m => Record(RoomClientEvents.Offer, m);
        client.Answer += m => Record(RoomClientEvents.Answer, m);
        client.Candidate += m => Record(RoomClientEvents.Candidate, m);
        client.Exit += m => Record(RoomClientEvents.Exit, m);
        client.Removed += m => Record(RoomClientEvents.Removed, m);
    }

    /// <summary>The client under test.</summary>
    public RoomSignalClient Client { get; }

    /// <summary>This peer's connection id as the server reported it on the last join.</summary>
    public string Id => Client.ConnectionId ?? throw new InvalidOperationException("The peer has not joined a room yet, so its connection id is unknown.");

    /// <summary>Every message received so far, in order.</summary>
    public IReadOnlyList<ReceivedMessage> Received => _received.ToArray();

    /// <summary>Connects a new client (automatic reconnect off unless <paramref name="configure"/> turns it on).</summary>
    public static async Task<TestPeer> ConnectAsync(IRoomSignalEndpoint node, Action<RoomSignalClientOptions>? configure = null)
    {
        var options = new RoomSignalClientOptions { HubUrl = node.HubUri, AutomaticReconnect = false };
        configure?.Invoke(options);
        var peer = new TestPeer(new RoomSignalClient(options));
        await peer.Client.StartAsync().Within("a client to connect");
        return peer;
    }

    /// <summary>Wraps a user-built <paramref name="connection"/> and starts it.</summary>
    public static async Task<TestPeer> ConnectAsync(HubConnection connection)
    {
        var peer = new TestPeer(new RoomSignalClient(connection));
        await peer.Client.StartAsync().Within("a user-built connection to start");
        return peer;
    }

    /// <summary>Joins <paramref name="room"/>, time-boxed.</summary>
    public Task<RoomJoined> JoinAsync(string room) => Client.JoinAsync(room).Within($"joining room {room}");

    /// <summary>The payloads of every <paramref name="eventName"/> message received so far.</summary>
    public IReadOnlyList<T> All<T>(string eventName)
        => _received.Where(m => m.Event == eventName).Select(m => (T)m.Payload).ToArray();

    /// <summary>How many <paramref name="eventName"/> messages arrived so far.</summary>
    public int Count(string eventName) => _received.Count(m => m.Event == eventName);

    /// <summary>Waits (time-boxed) for a <paramref name="eventName"/> message matching <paramref name="predicate"/>.</summary>
    public async Task<T> WaitForAsync<T>(string eventName, Func<T, bool>? predicate = null, string? because = null, TimeSpan? timeout = null)
    {
        T? found = default;
        await Eventually.UntilAsync(
            () =>
            {
                foreach (var message in _received)
                {
                    if (message.Event == eventName && message.Payload is T payload && (predicate is null || predicate(payload)))
                    {
                        found = payload;
                        return true;
                    }
                }

                return false;
            },
            because ?? $"a '{eventName}' message",
            timeout);
        return found!;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Client.DisposeAsync();

    private Task Record(string eventName, object payload)
    {
        _received.Enqueue(new ReceivedMessage(eventName, payload));
        return Task.CompletedTask;
    }
}
