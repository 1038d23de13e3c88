// The dependency rule (README "Layers"), checked by `npm test`:
//
//   CLI, commands, benches ──► runtime (appliance/) ──► build-time layouts and image
//   format (specializers/) ──► basics/ (errors with codes, checksums, byte helpers)
//
// netmap-binding/ imports nothing from the rest of the repository. Inside the runtime,
// wire views know bytes only; the responders and sessions (http/, dns/) know payloads,
// never wire views, the stack or the backends; the stack never reaches up into the
// backends, the worker or the CLI.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: { path: '^(basics|appliance|specializers|netmap-binding)/' }, to: { circular: true } },
    {
      name: 'basics-is-a-leaf', severity: 'error',
      comment: 'basics/ imports nothing from the repository',
      from: { path: '^basics/' }, to: { path: '^(appliance|specializers|netmap-binding|test|scripts)/' },
    },
    {
      name: 'binding-stands-alone', severity: 'error',
      comment: 'netmap-binding/ imports nothing from the rest of the repository',
      from: { path: '^netmap-binding/' }, to: { path: '^(basics|appliance|specializers|test|scripts)/' },
    },
    {
      name: 'specializers-below-runtime', severity: 'error',
      comment: 'build-time code and the image format never import the runtime',
      from: { path: '^specializers/' }, to: { path: '^(appliance|netmap-binding|test|scripts)/' },
    },
    {
      name: 'wire-knows-bytes', severity: 'error',
      comment: 'wire views import only other wire views and basics/',
      from: { path: '^appliance/wire/' }, to: { path: '^(appliance/(?!wire/)|netmap-binding/|specializers/)' },
    },
    {
      name: 'responders-know-payloads', severity: 'error',
      comment: 'HTTP and DNS responders and sessions never see frames, the stack or a backend (the DNS header view is their payload\'s)',
      from: { path: '^appliance/(http|dns)/' },
      to: { path: '^(appliance/wire/(?!dns\\.ts)|appliance/(stack|backends|worker|commands|bench)/|appliance/cli|netmap-binding/)' },
    },
    {
      name: 'stack-below-loop', severity: 'error',
      comment: 'the stack never reaches up into the backends, the worker, the commands or the benches; of the binding it knows the Device interface only',
      from: { path: '^appliance/stack/' },
      to: { path: '^(appliance/(backends|worker|commands|bench)/|appliance/cli|netmap-binding/(?!device\\.ts))' },
    },
    {
      name: 'runtime-not-into-cli', severity: 'error',
      comment: 'nothing but the entry points (the CLI, the worker threads\' entry) imports the commands or the benches',
      from: { path: '^appliance/(?!cli\\.ts|worker-entry\\.ts|commands/|bench/)' },
      to: { path: '^appliance/(cli|commands/|bench/)' },
    },
    {
      name: 'no-test-code-in-product', severity: 'error',
      from: { path: '^(basics|appliance|specializers|netmap-binding)/' }, to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};
