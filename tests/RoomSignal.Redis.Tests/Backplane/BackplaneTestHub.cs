using Microsoft.AspNetCore.SignalR;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>A hub that exercises every send and group operation of a lifetime manager on request of its clients.</summary>
public sealed class BackplaneTestHub : Hub
{
    /// <summary>Client method every message arrives at.</summary>
    public const string Receive = "Receive";

    /// <summary>Client method that returns twice its argument (a client result).</summary>
    public const string Compute = "Compute";

    public string WhoAmI() => Context.ConnectionId;

    public Task SendAll(string message) => Clients.All.SendAsync(Receive, message);

    public Task SendAllExcept(string message, string[] excluded) => Clients.AllExcept(excluded).SendAsync(Receive, message);

    public Task SendToConnection(string connectionId, string message) => Clients.Client(connectionId).SendAsync(Receive, message);

    public Task SendToConnections(string[] connectionIds, string message) => Clients.Clients(connectionIds).SendAsync(Receive, message);

    public Task SendToGroup(string group, string message) => Clients.Group(group).SendAsync(Receive, message);

    public Task SendToGroups(string[] groups, string message) => Clients.Groups(groups).SendAsync(Receive, message);

    public Task SendToGroupExcept(string group, string message, string[] excluded) => Clients.GroupExcept(group, excluded).SendAsync(Receive, message);

    public Task SendToOthersInGroup(string group, string message) => Clients.OthersInGroup(group).SendAsync(Receive, message);

    public Task SendToUser(string user, string message) => Clients.User(user).SendAsync(Receive, message);

    public Task SendToUsers(string[] users, string message) => Clients.Users(users).SendAsync(Receive, message);

    public Task AddToGroup(string connectionId, string group) => Groups.AddToGroupAsync(connectionId, group);

    public Task RemoveFromGroup(string connectionId, string group) => Groups.RemoveFromGroupAsync(connectionId, group);
}

/// <summary>Takes the user id from the <c>user</c> query parameter (tests only).</summary>
public sealed class QueryStringUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection)
    {
        var user = connection.GetHttpContext()?.Request.Query["user"].ToString();
        return string.IsNullOrEmpty(user) ? null : user;
    }
}
