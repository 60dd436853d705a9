namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// What an optimistic unit of work (<see cref="IOptimisticTransactions"/>) and the units nested in it share: nested units run
/// without savepoints, so one that ends without completing leaves its writes in the transaction, which the outermost unit can
/// then only roll back as a whole. Made by the outermost unit of an optimistic run only; a unit without one is not optimistic.
/// </summary>
internal sealed class OptimisticRun
{
    /// <summary>Whether a nested unit ended without completing (see <see cref="IOptimisticUnitOfWork.MustRollBack"/>).</summary>
    public bool MustRollBack { get; private set; }

    /// <summary>Records the end of a nested unit: one that did not complete leaves the run only a rollback.</summary>
    /// <param name="completed">Whether the nested unit completed.</param>
    public void NestedEnded(bool completed) => MustRollBack |= !completed;

    /// <summary>Throws when the outermost unit is asked to complete after a nested unit ended without completing.</summary>
    /// <exception cref="InvalidOperationException">A nested unit ended without completing.</exception>
    public void ThrowIfMustRollBack()
    {
        if (MustRollBack)
        {
            throw new InvalidOperationException("A unit nested in this optimistic unit of work ended without completing: its writes cannot be undone alone, so this unit can only be rolled back.");
        }
    }
}
