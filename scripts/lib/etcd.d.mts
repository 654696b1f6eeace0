export declare function ensureEtcd(opts?: { quiet?: boolean }): void;
/** Installs go + etcd's Go sources where it can; returns why Go is unavailable, or undefined. */
export declare function ensureGo(opts?: { quiet?: boolean }): string | undefined;
export declare function freePorts(n: number): Promise<number[]>;
export declare class EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  exitCode: number | string | null;
  spawn(): void;
  start(opts?: { timeoutMs?: number }): Promise<void>;
  stop(signal?: NodeJS.Signals, opts?: { timeoutMs?: number }): Promise<void>;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
}
export interface EtcdCluster {
  readonly members: EtcdMember[];
  readonly root: string;
  readonly endpoints: string[];
  stop(): Promise<void>;
}
export declare function startCluster(opts?: {
  size?: number;
  extraArgs?: string[];
  timeoutMs?: number;
  quiet?: boolean;
  /** The etcd binary; default `etcd` on PATH. */
  bin?: string;
}): Promise<EtcdCluster>;
export declare function waitClusterHealthy(cluster: EtcdCluster, timeoutMs?: number): Promise<void>;
