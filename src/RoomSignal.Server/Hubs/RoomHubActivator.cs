using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RoomSignal.Server.Auth;
using RoomSignal.Server.Ice;
using RoomSignal.Server.Rooms;

namespace RoomSignal.Server.Hubs;

/// <summary>
/// Creates the <see cref="RoomHub"/> of each invocation from the singletons it needs. SignalR's default activator is
/// a scoped service: every invocation resolved it into the invocation's scope, which allocated the activator and the
/// scope's table of resolved services and looked up the hub's five dependencies again (about 400 bytes of a relay's
/// 4.7 KB, docs/benchmarks.md). The hub's dependencies are all singletons, so its activator can be one too.
/// </summary>
internal sealed class RoomHubActivator(
    IRoomStore store,
    IPeerDirectory directory,
    IceServerProvider ice,
    IOptionsMonitor<RoomOptions> roomOptions,
    ILogger<RoomHub> logger) : IHubActivator<RoomHub>
{
    public RoomHub Create() => new(store, directory, ice, roomOptions, logger);

    public void Release(RoomHub hub) => hub.Dispose();
}
