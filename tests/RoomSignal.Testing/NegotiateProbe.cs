namespace RoomSignal.Testing;

/// <summary>What a node answered to one bare SignalR negotiate request, as a load balancer sees it.</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="RetryAfter">The <c>Retry-After</c> header, if any.</param>
/// <param name="Body">The body as text.</param>
public sealed record NegotiateAnswer(int Status, string? RetryAfter, string Body)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Status} (Retry-After: {RetryAfter ?? "none"}) {Body}";
}

/// <summary>Sends the negotiate request a client sends first (<c>POST /hubs/room/negotiate?negotiateVersion=1</c>).</summary>
public static class NegotiateProbe
{
    /// <summary>Negotiates with <paramref name="node"/> once, time-boxed, and returns its answer.</summary>
    public static async Task<NegotiateAnswer> NegotiateAsync(this IRoomSignalEndpoint node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.PostAsync("hubs/room/negotiate?negotiateVersion=1", content: null).Within("a negotiate request");
        var body = await response.Content.ReadAsStringAsync().Within("the negotiate answer's body");
        return new NegotiateAnswer((int)response.StatusCode, response.Headers.RetryAfter?.ToString(), body);
    }
}
