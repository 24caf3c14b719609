using Microsoft.Extensions.Options;

namespace RoomSignal.Server;

/// <summary>The id this process uses in the cluster: <see cref="RoomSignalOptions.NodeId"/>, or a generated one.</summary>
public sealed class NodeIdentity
{
    /// <summary>Resolves the node id from options, generating one when none is configured.</summary>
    public NodeIdentity(IOptions<RoomSignalOptions> options)
    {
        Id = string.IsNullOrWhiteSpace(options.Value.NodeId)
            ? $"{Sanitize(Environment.MachineName)}-{Guid.NewGuid().ToString("N")[..12]}"
            : options.Value.NodeId;
    }

    /// <summary>This node's id.</summary>
    public string Id { get; }

    private static string Sanitize(string name)
    {
        var chars = name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-').Take(30).ToArray();
        return chars.Length == 0 ? "node" : new string(chars);
    }
}
