#!/usr/bin/env node
// `npm run etcd`: starts a throwaway single-member etcd on free loopback ports, prints its endpoint
// (first line of stdout, alone, for `ETCD_ENDPOINTS=$(…)`-style use), and keeps it running until
// Ctrl-C / SIGTERM, then stops it and deletes its data.
import { ensureEtcd, startCluster } from './lib/etcd.mjs';

ensureEtcd({ quiet: false });
const etcd = await startCluster({ size: 1 });
console.log(etcd.endpoints.join(','));
console.error(`[etcd] throwaway etcd running (data in ${etcd.root}); Ctrl-C stops it and deletes its data`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await etcd.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Keep the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);
