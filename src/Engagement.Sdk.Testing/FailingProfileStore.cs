using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing;

/// <summary>How <see cref="FailingProfileStore"/> fails.</summary>
public enum ProfileSaveFailure
{
    /// <summary>An <see cref="IOException"/> ("disk full"): a fault of the store itself.</summary>
    StoreFault,

    /// <summary>An <see cref="EngagementValidationException"/> on <c>customerId</c>: a host rule that refuses the save.</summary>
    Rejection,
}

/// <summary>
/// A profile store that saves through another store except for one customer, whose saves fail. Adapter tests use it to check
/// that a unit of work rolls back everything an event wrote when its profile cannot be saved, and that the other events of a
/// batch still go through.
/// </summary>
/// <param name="inner">The store that does the work.</param>
/// <param name="failFor">The customer whose saves fail.</param>
/// <param name="failure">How they fail.</param>
public sealed class FailingProfileStore(IProfileStore inner, CustomerId failFor, ProfileSaveFailure failure) : IProfileStore
{
    /// <inheritdoc />
    public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.GetAsync(customerId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default) => inner.FindByIdentifierAsync(identifier, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return profile.Id != failFor ? inner.SaveAsync(profile, cancellationToken)
            : failure == ProfileSaveFailure.Rejection ? throw new EngagementValidationException("customerId", failFor.Value, "rejected by a host rule at save time")
            : throw new IOException("disk full");
    }

    /// <inheritdoc />
    public IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}
