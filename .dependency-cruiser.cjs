// The layers of src/ (DEVELOPERS.md "Architecture"), checked by `npm test` (test/unit/architecture.test.ts):
//   base        errors, retry, logger, ttl, layout   knows no etcd and nothing else of ours
//   transport   client/                              our etcd v3 client; knows no recipe
//   shared      shared/                              what components stand on; knows none of its users
//   components  lock/ registry/ config/ ids/ election/   know neither each other nor the facade
//   facade      coordinator, options, index, grpc, permissions   and the CLI above everything
// and no cycles anywhere.
const BASE = '^src/(errors|retry|logger|ttl|layout)\\.ts$';
const COMPONENTS = ['lock', 'registry', 'config', 'ids', 'election', 'semaphore', 'rwlock'];
const FACADE = '^src/(coordinator|options|index|grpc|permissions)\\.ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A cycle makes two modules one; break it by moving the shared part down a layer.', from: {}, to: { circular: true } },
    {
      name: 'base-knows-no-etcd',
      severity: 'error',
      comment: 'The base (errors, retry, logger, ttl, layout) imports only the base.',
      from: { path: BASE },
      to: { path: '^src/', pathNot: BASE },
    },
    {
      name: 'transport-knows-no-recipe',
      severity: 'error',
      comment: 'src/client (the etcd v3 client) imports only itself and the base.',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: [BASE, '^src/client/'] },
    },
    {
      name: 'shared-knows-no-user',
      severity: 'error',
      comment: 'src/shared imports only itself, the transport and the base.',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: [BASE, '^src/client/', '^src/shared/'] },
    },
    ...COMPONENTS.map((c) => ({
      name: `${c}-knows-no-other-component`,
      severity: 'error',
      comment: `src/${c} imports only itself, the shared layer, the transport and the base.`,
      from: { path: `^src/${c}/` },
      to: { path: '^src/', pathNot: [BASE, '^src/client/', '^src/shared/', `^src/${c}/`] },
    })),
    {
      name: 'facade-below-cli',
      severity: 'error',
      comment: 'Nothing but the CLI imports the CLI.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'root-entry-without-grpc-js',
      severity: 'error',
      comment: 'The root entry never loads @grpc/grpc-js (it is an optional peer, for @gochat/coordination/grpc only).',
      from: { path: '^src/index\\.ts$' },
      to: { path: 'node_modules/@grpc/grpc-js/', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
