using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Ice;

/// <summary>
/// The ICE servers handed to clients (<c>GetIceServers()</c>, <c>GET /api/ice-servers</c>), bound from <c>RoomSignal:Ice</c>.
/// TURN credentials are minted per request with coturn's <c>use-auth-secret</c> scheme from <see cref="TurnSecret"/>.
/// </summary>
public sealed class IceOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Ice";

    /// <summary>STUN server URLs (<c>stun:host:port</c>), handed out as they are. Default none.</summary>
    public List<string> StunUrls { get; set; } = [];

    /// <summary>TURN server URLs (<c>turn:host:port?transport=udp</c>, <c>turns:...</c>), handed out with fresh credentials. Default none.</summary>
    public List<string> TurnUrls { get; set; } = [];

    /// <summary>The shared secret, the same as coturn's <c>static-auth-secret</c>; required when <see cref="TurnUrls"/> are set. Never logged.</summary>
    public string? TurnSecret { get; set; }

    /// <summary>How long minted TURN credentials are valid; clients fetch new ones before then. Default 1 hour (1 minute to 7 days).</summary>
    public TimeSpan CredentialTtl { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Checks <see cref="IceOptions"/> at start, naming the key that is wrong (never the secret).</summary>
internal sealed class IceOptionsValidator : IValidateOptions<IceOptions>
{
    public ValidateOptionsResult Validate(string? name, IceOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.StunUrls.Count; i++)
        {
            if (!HasScheme(options.StunUrls[i], "stun:", "stuns:"))
            {
                errors.Add($"{IceOptions.SectionName}:StunUrls:{i} must start with stun: or stuns: (got '{options.StunUrls[i]}')");
            }
        }

        for (var i = 0; i < options.TurnUrls.Count; i++)
        {
            if (!HasScheme(options.TurnUrls[i], "turn:", "turns:"))
            {
                errors.Add($"{IceOptions.SectionName}:TurnUrls:{i} must start with turn: or turns: (got '{options.TurnUrls[i]}')");
            }
        }

        if (options.TurnUrls.Count > 0 && string.IsNullOrEmpty(options.TurnSecret))
        {
            errors.Add($"{IceOptions.SectionName}:TurnSecret must be set when {IceOptions.SectionName}:TurnUrls are (coturn's static-auth-secret)");
        }

        if (options.CredentialTtl < TimeSpan.FromMinutes(1) || options.CredentialTtl > TimeSpan.FromDays(7))
        {
            errors.Add($"{IceOptions.SectionName}:CredentialTtl must be between 00:01:00 and 7.00:00:00");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool HasScheme(string? url, string plain, string secure)
        => url is not null && url.Length > secure.Length
            && (url.StartsWith(plain, StringComparison.OrdinalIgnoreCase) || url.StartsWith(secure, StringComparison.OrdinalIgnoreCase));
}
