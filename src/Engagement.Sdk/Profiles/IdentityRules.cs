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

    /// <summary>
    /// Whether identifiers of this kind are compared, looked up and hashed without regard to case (the spelling given is kept
    /// for sending). <see langword="null"/> (the default) keeps the kind's own rule: e-mail addresses ignore case
    /// (<c>Ann.Smith@example.com</c> and <c>ann.smith@example.com</c> are one address, as practically every mailbox provider
    /// treats them), every other kind does not. Set it to <see langword="true"/> for a host kind such as case-insensitive
    /// user names, or to <see langword="false"/> for e-mail to compare local parts exactly.
    /// </summary>
    public bool? IgnoreCase { get; init; }
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

    /// <summary>
    /// <paramref name="identifier"/> with the key its kind's rule gives it (<see cref="IdentifierRule.IgnoreCase"/>): the same
    /// instance unless a rule other than the kind's default applies. The engine, the ledger and identity resolution pass every
    /// identifier they are given through it before comparing or storing it.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <returns>The identifier, compared by the configured rule.</returns>
    public Identifier Normalise(Identifier identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return Identifiers.TryGetValue(identifier.Kind, out var rule) && rule.IgnoreCase is { } ignoreCase && ignoreCase != Identifier.IgnoresCaseByDefault(identifier.Kind)
            ? identifier.WithCaseRule(ignoreCase)
            : identifier;
    }

    /// <summary>Whether any rule compares a kind otherwise than by its default (then identifiers must go through <see cref="Normalise(Identifier)"/>).</summary>
    public bool HasCaseOverrides
    {
        get
        {
            foreach (var (kind, rule) in Identifiers)
            {
                if (rule.IgnoreCase is { } ignoreCase && ignoreCase != Identifier.IgnoresCaseByDefault(kind))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Every identifier of <paramref name="identifiers"/> through <see cref="Normalise(Identifier)"/> (the same array when none changes).</summary>
    /// <param name="identifiers">The identifiers.</param>
    /// <returns>The identifiers, compared by the configured rules.</returns>
    public ImmutableArray<Identifier> Normalise(ImmutableArray<Identifier> identifiers)
    {
        if (identifiers.IsDefaultOrEmpty)
        {
            return identifiers;
        }

        ImmutableArray<Identifier>.Builder? changed = null;
        for (var i = 0; i < identifiers.Length; i++)
        {
            var normalised = Normalise(identifiers[i]);
            if (changed is null && !ReferenceEquals(normalised, identifiers[i]))
            {
                changed = identifiers.ToBuilder();
            }

            if (changed is not null)
            {
                changed[i] = normalised;
            }
        }

        return changed?.ToImmutable() ?? identifiers;
    }

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
