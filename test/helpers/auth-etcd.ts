// A throwaway etcd member with authentication enabled (root user + password), for auth tests.
import { execFileSync } from 'node:child_process';
import { startCluster, type EtcdCluster } from '../../scripts/lib/etcd.mjs';

export const ROOT_PASSWORD = 'R00t-pa55-do-not-log';

export function etcdctl(endpoints: string[], args: string[], user?: string): string {
  return execFileSync('etcdctl', [`--endpoints=${endpoints.join(',')}`, ...(user ? [`--user=${user}`] : []), ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
    timeout: 15_000,
  });
}

/** Starts a member (with `extraArgs`, e.g. `--auth-token-ttl`) and enables auth with user `root` / ROOT_PASSWORD. */
export async function startAuthEtcd(extraArgs: string[] = []): Promise<EtcdCluster> {
  const cluster = await startCluster({ size: 1, extraArgs });
  try {
    etcdctl(cluster.endpoints, ['user', 'add', `root:${ROOT_PASSWORD}`]);
    etcdctl(cluster.endpoints, ['role', 'add', 'root']);
    etcdctl(cluster.endpoints, ['user', 'grant-role', 'root', 'root']);
    etcdctl(cluster.endpoints, ['auth', 'enable']);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
