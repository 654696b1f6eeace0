// Public shape of leader election: etcd's Go concurrency.Election (same keys, same rule: the
// oldest candidate leads), with the safety Go's recipe lacks — a campaign never reports
// leadership without a key, a failed campaign leaves no key, resign() can be retried.

import type { EventType, RemainingMs, SignalOptions, Watch } from '../shared/vocabulary.js';

export interface CampaignOptions extends SignalOptions {
  /**
   * Lease TTL of our candidacy in ms (integer >= 1000, rounded up to whole seconds): how long
   * after our process dies (or loses etcd) the next candidate takes over. @default DEFAULT_TTL_MS (10000)
   */
  ttlMs?: number;
}

export interface LeaderElection {
  /**
   * Joins election `name` with `value` (what followers see, e.g. our address) and waits until we
   * lead. Rejects NOT_FOUND if our candidacy was lost while waiting (lease expired, key deleted),
   * CANCELLED / TIMEOUT_ERROR when `signal` aborts, VALIDATION_ERROR for bad input (nothing
   * written). A campaign that rejects leaves no candidate key behind.
   */
  campaign(name: string, value: string, opts?: CampaignOptions): Promise<Leadership>;
  /** The current leader of `name` (the oldest candidate), or undefined if nobody campaigns. */
  leader(name: string, opts?: SignalOptions): Promise<LeaderInfo | undefined>;
  /**
   * Every change of `name`'s leader, in revision order: first the leader at `ready` (a DELETE
   * event if none), then a PUT for each new leader and each proclaimed value, and a DELETE when
   * the last candidate goes. Ends on close(), on `signal`, or when the coordinator closes.
   */
  observe(name: string, opts?: SignalOptions): LeaderObservation;
  /**
   * The elections whose name starts with `prefix` ('' = all) as etcd holds them now — ours and
   * Go's: leader, its fencing token and TTL left, candidates. Sorted by name; for `coordctl`.
   */
  list(prefix?: string, opts?: SignalOptions): Promise<ElectionInfo[]>;
}

/** The leader of an election, as followers see it. */
export interface LeaderInfo {
  /** The election's name. */
  name: string;
  /** The leader's campaign (or last proclaimed) value. */
  value: string;
  /** The leader's key: `<namespace>/elections/<name>/<lease ID in hex>`. */
  key: string;
  /** Create revision of the leader's key: its fencing token, strictly increasing per election. */
  fencingToken: bigint;
}

/** One change of an election's leader, as `observe()` yields it (the shape of config and registry events). */
export interface LeaderEvent {
  /** PUT: `leader` leads (a new leader, or the leader proclaimed a new value); DELETE: nobody leads. */
  type: EventType;
  /** The leader after the change; undefined for DELETE. */
  leader: LeaderInfo | undefined;
  /**
   * etcd revision of the change (the first event: the revision `ready` resolved with); strictly
   * increasing within one observation. Not the fencing token: that is `leader.fencingToken`.
   */
  revision: bigint;
  /** When this process learned of the change. */
  timestamp: Date;
  /** True when the change was derived by re-reading the candidates after a compaction, not seen as it happened. */
  reconciled: boolean;
}

/** One election as `list()` reads it. */
export interface ElectionInfo {
  name: string;
  leader: LeaderInfo;
  /** Remaining TTL of the leader's lease in ms (whole seconds); undefined without a lease. */
  remainingMs: RemainingMs;
  /** Candidates waiting behind the leader. */
  candidates: number;
}

/** A live view of one election's leader: iterate its LeaderEvents with `for await`. */
export type LeaderObservation = Watch<LeaderEvent>;

export interface Leadership extends AsyncDisposable {
  /** The election's name as passed to campaign(). */
  readonly name: string;
  /** Our candidate key: `<namespace>/elections/<name>/<lease ID in hex>` (as Go's Election writes it). */
  readonly key: string;
  /** Create revision of our key: strictly increasing per election; hand it to fenced resources. */
  readonly fencingToken: bigint;
  /**
   * Aborts when leadership is lost: our lease expired or was revoked, our key was deleted, or the
   * lease could not be confirmed alive for a whole TTL. The reason is a CoordinationError
   * (NOT_FOUND). It does not abort on resign().
   */
  readonly signal: AbortSignal;
  /**
   * Changes the value followers see, only while we lead (guarded by our key's create revision).
   * CONFLICT (nothing written) if we no longer lead.
   */
  proclaim(value: string, opts?: SignalOptions): Promise<void>;
  /**
   * Gives up leadership: deletes our key, so the next candidate leads at once. Idempotent; if the
   * delete fails it rejects and can be called again.
   */
  resign(opts?: SignalOptions): Promise<void>;
}
