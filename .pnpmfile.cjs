// tsup 9 (and the rollup-plugin-dts it bundles) load `typescript` for its compiler API, which TypeScript 7 no longer
// ships; give tsup TypeScript 6's API (the official compatibility package) while `tsc` stays TypeScript 7.
// See CONTRIBUTING.md, "Toolchain". Remove when tsup loads `@typescript/typescript6` itself.
const TYPESCRIPT_API = 'npm:@typescript/typescript6@6.0.2';

function readPackage(pkg) {
  if (pkg.name === 'tsup' && pkg.version.startsWith('9.')) {
    delete pkg.peerDependencies?.typescript;
    delete pkg.peerDependenciesMeta?.typescript;
    pkg.dependencies = { ...pkg.dependencies, typescript: TYPESCRIPT_API };
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
