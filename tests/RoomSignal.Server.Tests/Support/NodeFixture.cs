using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Support;

/// <summary>One real node (Kestrel on a dynamic loopback port) shared by the tests of a class; tests use unique rooms.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public RoomSignalNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await RoomSignalNode.StartAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

