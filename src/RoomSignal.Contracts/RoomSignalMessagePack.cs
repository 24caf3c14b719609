using MessagePack;
using MessagePack.Resolvers;
using RoomSignal.Contracts.Internal;

namespace RoomSignal.Contracts;

/// <summary>
/// How RoomSignal's messages look in SignalR's MessagePack hub protocol: maps keyed by the same camelCase names
/// the JSON protocol uses (<c>{"id":…,"room":…,"peers":[{"id":…}]}</c>), so a JavaScript client sees the same
/// fields whichever protocol it picked. The server and <c>RoomSignalClient</c> use these options; give them to a
/// <c>HubConnection</c> of your own with
/// <c>.AddMessagePackProtocol(o =&gt; o.SerializerOptions = RoomSignalMessagePack.SerializerOptions)</c>.
/// </summary>
/// <remarks>
/// SignalR's default MessagePack options key maps by the C# property names (<c>Id</c>, <c>Room</c>), which a
/// JavaScript client would then have to spell differently than over JSON. These options write camelCase keys for
/// every type declared in a RoomSignal assembly, read keys regardless of case, skip unknown keys, and treat
/// everything else as SignalR's defaults do (contractless, untrusted data).
/// </remarks>
public static class RoomSignalMessagePack
{
    /// <summary>The resolver: RoomSignal types as camelCase maps first, then MessagePack's contractless defaults.</summary>
    public static IFormatterResolver Resolver { get; } = CompositeResolver.Create(
        CamelCaseObjectResolver.Instance,
        DynamicEnumAsStringResolver.Instance,
        ContractlessStandardResolver.Instance);

    /// <summary>The serializer options for SignalR's <c>MessagePackHubProtocolOptions.SerializerOptions</c>.</summary>
    public static MessagePackSerializerOptions SerializerOptions { get; } =
        MessagePackSerializerOptions.Standard.WithResolver(Resolver).WithSecurity(MessagePackSecurity.UntrustedData);
}
