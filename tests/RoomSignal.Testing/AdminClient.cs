using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace RoomSignal.Testing;

/// <summary>The admin API (<c>/admin/rooms</c>) of one server, called as an operator would, with a bearer key; every call time-boxed.</summary>
public sealed class AdminClient : IDisposable
{
    /// <summary>A key the tests configure with <c>RoomSignal:Admin:Key</c>.</summary>
    public const string TestKey = "test-admin-key-0123456789abcdef";

    private readonly HttpClient _http;

    /// <summary>A client of <paramref name="server"/> that sends <paramref name="key"/> (none when <see langword="null"/>).</summary>
    public AdminClient(IRoomSignalEndpoint server, string? key = TestKey)
    {
        _http = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>Sends a request and returns the status and the parsed JSON body (null when empty).</summary>
    public async Task<(HttpStatusCode Status, JsonElement? Body, string? ContentType)> SendAsync(HttpMethod method, string path)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(method, path)).Within($"{method} {path}");
        var text = await response.Content.ReadAsStringAsync();
        JsonElement? body = text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary><c>GET /admin/rooms</c>: room name to member count (fails unless 200).</summary>
    public async Task<Dictionary<string, int>> ListRoomsAsync()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, "admin/rooms");
        Assert(status == HttpStatusCode.OK, $"GET /admin/rooms answered {(int)status}");
        return body!.Value.GetProperty("rooms").EnumerateArray()
            .ToDictionary(r => r.GetProperty("room").GetString()!, r => r.GetProperty("members").GetInt32(), StringComparer.Ordinal);
    }

    /// <summary><c>GET /admin/rooms/{room}</c>: the members, or <see langword="null"/> on 404.</summary>
    public async Task<AdminMember[]?> GetRoomAsync(string room)
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, $"admin/rooms/{Uri.EscapeDataString(room)}");
        if (status == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert(status == HttpStatusCode.OK, $"GET /admin/rooms/{room} answered {(int)status}");
        Assert(body!.Value.GetProperty("room").GetString() == room, "the detail names its room");
        return body.Value.GetProperty("members").EnumerateArray().Select(m => new AdminMember(
                m.GetProperty("connectionId").GetString()!,
                m.GetProperty("userId").ValueKind == JsonValueKind.Null ? null : m.GetProperty("userId").GetString(),
                m.GetProperty("node").GetString()!,
                m.GetProperty("joinedAt").ValueKind == JsonValueKind.Null ? null : m.GetProperty("joinedAt").GetDateTimeOffset()))
            .ToArray();
    }

    /// <summary><c>DELETE /admin/rooms/{room}/members/{connectionId}</c>, with an optional reason; returns the status.</summary>
    public async Task<HttpStatusCode> RemoveMemberAsync(string room, string connectionId, string? reason = null)
        => (await SendAsync(HttpMethod.Delete, $"admin/rooms/{Uri.EscapeDataString(room)}/members/{Uri.EscapeDataString(connectionId)}{Query(reason)}")).Status;

    /// <summary><c>DELETE /admin/rooms/{room}</c>, with an optional reason; returns the status.</summary>
    public async Task<HttpStatusCode> RemoveRoomAsync(string room, string? reason = null)
        => (await SendAsync(HttpMethod.Delete, $"admin/rooms/{Uri.EscapeDataString(room)}{Query(reason)}")).Status;

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private static string Query(string? reason) => reason is null ? string.Empty : "?reason=" + Uri.EscapeDataString(reason);

    private static void Assert(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}

/// <summary>One member as <c>GET /admin/rooms/{room}</c> lists it.</summary>
public sealed record AdminMember(string ConnectionId, string? UserId, string Node, DateTimeOffset? JoinedAt);
