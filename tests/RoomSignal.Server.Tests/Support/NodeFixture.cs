using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Support;

/// <summary>One real node (Kestrel on a dynamic loopback port) shared by the tests of a class; tests use unique rooms.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public RoomSignalNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await RoomSignalNode.StartAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>Unique room names, so tests sharing a node never see each other.</summary>
public static class RoomNames
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(64, prefix.Length + 17)];
}
