using System.Collections.Immutable;

namespace Engagement.Sdk.Profiles;

/// <summary>How one kind of identifier takes part in identity resolution.</summary>
public sealed record IdentifierRule
{
    /// <summary>
    /// Whether an event that carries an identifier of this kind, already held by another profile, stitches the two profiles
    /// into one. Turn it off for identifiers that people share (a family email address, a shop-floor tablet).
    /// </summary>
    public bool MergeOnMatch { get; init; } = true;

    /// <summary>
    /// Whether two different values of this kind mean two different people: a merge that would leave one profile with two
    /// different exclusive identifiers of this kind is refused. A profile holding one identifies a known person, and an
    /// anonymous profile merges into it rather than the other way round.
    /// </summary>
    public bool Exclusive { get; init; }
}

/// <summary>How a trait's values are combined when two profiles merge.</summary>
public enum TraitMergeRule
{
    /// <summary>The value set most recently wins (values without a recorded time count as oldest).</summary>
    NewestWins,

    /// <summary>The value set first wins.</summary>
    OldestWins,

    /// <summary>The survivor's value wins unless it is empty (an empty string or list); then the other profile's.</summary>
    NonEmptyWins,

    /// <summary>List values are united (survivor's items first, then the other's new items); other kinds fall back to <see cref="NewestWins"/>.</summary>
    Union,
}

/// <summary>The identity-resolution rules: per identifier kind and per trait.</summary>
public sealed class IdentityOptions
{
    /// <summary>The rule for identifier kinds that <see cref="Identifiers"/> does not name: never merge, not exclusive.</summary>
    public static IdentifierRule UndeclaredKind { get; } = new() { MergeOnMatch = false, Exclusive = false };

    /// <summary>
    /// The rule per identifier kind. Defaults: email, phone, loyalty and CRM ids stitch and are exclusive (two verified
    /// emails are two people); device and anonymous ids stitch and are not exclusive (one person has many devices).
    /// Host-defined kinds never stitch until declared here.
    /// </summary>
    public IDictionary<IdentifierKind, IdentifierRule> Identifiers { get; } = new Dictionary<IdentifierKind, IdentifierRule>
    {
        [IdentifierKind.Email] = new() { Exclusive = true },
        [IdentifierKind.Phone] = new() { Exclusive = true },
        [IdentifierKind.Loyalty] = new() { Exclusive = true },
        [IdentifierKind.Crm] = new() { Exclusive = true },
        [IdentifierKind.Device] = new(),
        [IdentifierKind.Anonymous] = new(),
    };

    /// <summary>The merge rule per trait name; traits not named use <see cref="DefaultTraitRule"/>.</summary>
    public IDictionary<string, TraitMergeRule> Traits { get; } = new Dictionary<string, TraitMergeRule>(StringComparer.Ordinal);

    /// <summary>The merge rule for traits that <see cref="Traits"/> does not name (default <see cref="TraitMergeRule.NewestWins"/>).</summary>
    public TraitMergeRule DefaultTraitRule { get; set; } = TraitMergeRule.NewestWins;

    /// <summary>The rule for an identifier kind.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The declared rule, or <see cref="UndeclaredKind"/>.</returns>
    public IdentifierRule RuleFor(IdentifierKind kind) => Identifiers.TryGetValue(kind, out var rule) ? rule : UndeclaredKind;

    /// <summary>The merge rule for a trait.</summary>
    /// <param name="trait">The trait name.</param>
    /// <returns>The declared rule, or <see cref="DefaultTraitRule"/>.</returns>
    public TraitMergeRule RuleFor(string trait) => Traits.TryGetValue(trait, out var rule) ? rule : DefaultTraitRule;

    /// <summary>Whether a profile holds an exclusive identifier, that is, identifies a known person.</summary>
    /// <param name="profile">The profile.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    public bool IsKnown(CustomerProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        foreach (var identifier in profile.Identifiers)
        {
            if (RuleFor(identifier.Kind).Exclusive)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The exclusive identifiers that stop two profiles from merging: a kind declared exclusive of which the two hold
    /// different values.
    /// </summary>
    /// <param name="a">One profile.</param>
    /// <param name="b">The other.</param>
    /// <returns>The conflicting pairs; empty when the merge may proceed.</returns>
    public ImmutableArray<(Identifier Left, Identifier Right)> ExclusiveConflicts(CustomerProfile a, CustomerProfile b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var conflicts = ImmutableArray.CreateBuilder<(Identifier, Identifier)>();
        foreach (var left in a.Identifiers)
        {
            if (!RuleFor(left.Kind).Exclusive)
            {
                continue;
            }

            var sameKind = false;
            var shared = false;
            Identifier? other = null;
            foreach (var right in b.Identifiers)
            {
                if (right.Kind == left.Kind)
                {
                    sameKind = true;
                    other ??= right;
                    shared |= right == left;
                }
            }

            if (sameKind && !shared)
            {
                conflicts.Add((left, other!));
            }
        }

        return conflicts.ToImmutable();
    }
}
