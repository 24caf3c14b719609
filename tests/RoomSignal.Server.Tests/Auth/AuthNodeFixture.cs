using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Auth;

/// <summary>One node with auth on (<see cref="TestTokens.Key"/>, plus <see cref="RotatedKey"/> as an additional key).</summary>
public sealed class AuthNodeFixture : IAsyncLifetime
{
    /// <summary>An additional signing key the node accepts (key rotation).</summary>
    public const string RotatedKey = "rotated-signing-key-0123456789abcdef-old";

    public RoomSignalNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var configuration = TestTokens.AuthOn();
        configuration["RoomSignal:Auth:AdditionalSigningKeys:0"] = RotatedKey;
        Node = await RoomSignalNode.StartAsync(configuration);
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}
