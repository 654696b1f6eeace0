// The architecture as checks: the layers of src/ (.dependency-cruiser.cjs: no cycles, the transport
// knows no recipe, the shared layer none of its users, components neither each other nor the facade,
// the base no etcd) and the public types as committed in docs/api/ (API Extractor; `npm run
// api-report` rewrites the report after an intended API change, so every change shows up in review).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bin = (pkg: string, file: string): string => join(ROOT, 'node_modules', pkg, file);

function run(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('layers: no cycles and no import against the layering (dependency-cruiser)', () => {
  const r = run([bin('dependency-cruiser', 'bin/dependency-cruise.mjs'), 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
  assert.equal(r.status, 0, r.output);
  // The rules are read: one per component, the cycle rule and the grpc-js rule among them.
  const rules = readFileSync(join(ROOT, '.dependency-cruiser.cjs'), 'utf8');
  for (const name of ['no-circular', 'transport-knows-no-recipe', 'shared-knows-no-user', 'base-knows-no-etcd', 'root-entry-without-grpc-js']) assert.match(rules, new RegExp(`'${name}'`));
});

test('the public API matches its committed report (API Extractor, both entries)', () => {
  const tsc = run([bin('typescript', 'bin/tsc'), '-p', 'tsconfig.api.json']);
  assert.equal(tsc.status, 0, tsc.output);
  for (const config of ['api-extractor.json', 'api-extractor.grpc.json']) {
    const r = run([bin('@microsoft/api-extractor', 'bin/api-extractor'), 'run', '-c', config]);
    assert.equal(r.status, 0, `${config}: the public types differ from docs/api/ (run \`npm run api-report\` and commit the report if the change is meant):\n${r.output}`);
  }
});
