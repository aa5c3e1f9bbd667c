/**
 * Work that one process at a time should do (cleanup), across every process
 * on the database: a named lease, taken with one conditional write and given
 * back when the work is done; a holder that died lets it expire.
 */
export interface MaintenanceLocks {
  /** Takes the lock `name` for `holder` for `ttlMs` unless another live holder has it. */
  tryAcquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lock back, if `holder` still has it. */
  release(name: string, holder: string): Promise<void>;
}
