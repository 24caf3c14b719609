using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Testing;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>A real SignalR client (the official one, over WebSockets) of <see cref="BackplaneTestHub"/> that records what it receives.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private TestClient(string name, HubConnection connection)
    {
        Name = name;
        Connection = connection;
    }

    public string Name { get; }

    public HubConnection Connection { get; }

    public string Id { get; private set; } = string.Empty;

    public ConcurrentQueue<string> Received { get; } = new();

    public static async Task<TestClient> ConnectAsync(string name, Uri hubUri)
    {
        var client = new TestClient(name, TestHubConnections.Create(hubUri));
        client.Connection.On<string>(BackplaneTestHub.Receive, m => client.Received.Enqueue(m));
        client.Connection.On(BackplaneTestHub.Compute, (int x) => x * 2);
        await client.Connection.StartAsync().Within($"{name} to connect");
        client.Id = await client.Connection.InvokeAsync<string>(nameof(BackplaneTestHub.WhoAmI)).Within($"{name} to learn its id");
        return client;
    }

    public bool Has(string message) => Received.Contains(message);

    public int CountOf(string message) => Received.Count(m => m == message);

    public Task WaitForAsync(string message, TimeSpan? timeout = null)
        => Eventually.UntilAsync(() => Has(message), $"{Name} to receive '{message}'", timeout);

    public Task InvokeAsync(string method, params object?[] args)
        => Connection.InvokeCoreAsync(method, args).Within($"{Name} to invoke {method}");

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    public override string ToString() => Name;
}
