using System.Text;
using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Auth;

/// <summary>
/// Access-token settings, bound from <c>RoomSignal:Auth</c>. Auth is off unless <see cref="SigningKey"/> is set;
/// then every connection to the hub (and every call of <c>/api/ice-servers</c>) needs a valid HS256 JWT.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "RoomSignal:Auth";

    /// <summary>The fewest UTF-8 bytes a signing key may have (HS256 wants at least its 256-bit output size).</summary>
    public const int MinimumKeyBytes = 32;

    /// <summary>How far a token's <c>exp</c> and <c>nbf</c> may be off this node's clock.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The HS256 key tokens are signed with, as a string whose UTF-8 bytes are the key (at least 32 bytes).
    /// Unset (the default): auth is off and anyone who reaches the hub may join any room.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>More keys whose signatures are accepted too, so a key can be rotated without refusing live tokens. Default none.</summary>
    public List<string> AdditionalSigningKeys { get; set; } = [];

    /// <summary>When set, a token's <c>iss</c> must equal it. Default unset: not checked.</summary>
    public string? Issuer { get; set; }

    /// <summary>When set, a token's <c>aud</c> must contain it. Default unset: not checked.</summary>
    public string? Audience { get; set; }

    /// <summary>Whether auth is on (a signing key is configured).</summary>
    public bool Enabled => !string.IsNullOrEmpty(SigningKey);

    /// <summary>The signing key followed by the additional ones, each as its UTF-8 bytes.</summary>
    public IEnumerable<byte[]> KeyBytes()
    {
        if (!Enabled)
        {
            yield break;
        }

        yield return Encoding.UTF8.GetBytes(SigningKey!);
        foreach (var key in AdditionalSigningKeys)
        {
            yield return Encoding.UTF8.GetBytes(key);
        }
    }
}

/// <summary>Checks <see cref="AuthOptions"/> at start, naming the key that is wrong (never its value).</summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        if (options.SigningKey is { } key && Encoding.UTF8.GetByteCount(key) < AuthOptions.MinimumKeyBytes)
        {
            errors.Add($"{AuthOptions.SectionName}:SigningKey must be at least {AuthOptions.MinimumKeyBytes} bytes of UTF-8 (it is {Encoding.UTF8.GetByteCount(key)})");
        }

        for (var i = 0; i < options.AdditionalSigningKeys.Count; i++)
        {
            var bytes = Encoding.UTF8.GetByteCount(options.AdditionalSigningKeys[i] ?? string.Empty);
            if (bytes < AuthOptions.MinimumKeyBytes)
            {
                errors.Add($"{AuthOptions.SectionName}:AdditionalSigningKeys:{i} must be at least {AuthOptions.MinimumKeyBytes} bytes of UTF-8 (it is {bytes})");
            }
        }

        if (!options.Enabled && options.AdditionalSigningKeys.Count > 0)
        {
            errors.Add($"{AuthOptions.SectionName}:AdditionalSigningKeys needs {AuthOptions.SectionName}:SigningKey to be set as well");
        }

        if (options.Issuer is { Length: 0 } || options.Audience is { Length: 0 })
        {
            errors.Add($"{AuthOptions.SectionName}:Issuer and :Audience must be unset or non-empty");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
