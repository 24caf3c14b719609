using RoomSignal.Contracts;

namespace RoomSignal.Client;

/// <summary>What happened when a <see cref="RoomSignalClient"/> rejoined its rooms after reconnecting.</summary>
/// <param name="ConnectionId">The new connection id the server gave this client.</param>
/// <param name="Rejoined">One result per room rejoined, with the peers now in it.</param>
/// <param name="Failed">
/// Rooms that could not be rejoined, with the error. When the server refused (a <c>HubException</c>, e.g. the room
/// is full by now) the client forgets the room; when the connection dropped again it keeps the room for the next reconnect.
/// </param>
public sealed record RoomsRejoinedEventArgs(
    string? ConnectionId,
    IReadOnlyList<RoomJoined> Rejoined,
    IReadOnlyDictionary<string, Exception> Failed);
