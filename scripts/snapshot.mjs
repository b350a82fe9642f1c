// Builds the CLI's startup snapshot after tsc: dist/src/cli/snapshot.js and what it imports are
// bundled into one script (esbuild), which node runs once to build dist/rcopy.blob. bin/rcopy starts
// from the blob when the node on PATH is the one that built it (recorded in dist/rcopy.blob.node).
// A command then starts without looking up, reading and compiling its modules one by one.
//
// Bundled modules keep what they knew as files: import.meta.url becomes the URL of the module's
// own file under dist/ (computed when it runs), and packages with native parts (better-sqlite3)
// are required from node_modules when first used. If the snapshot cannot be built, this says why
// and exits 0: bin/rcopy then starts from the module files, as `node bin/rcopy` always does.
// RCOPY_KEEP_BUNDLE=1 keeps the bundled script (dist/rcopy-snapshot.cjs) to read.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const BLOB = path.join(DIST, 'rcopy.blob');
const BUNDLE = path.join(DIST, 'rcopy-snapshot.cjs');
const STAMP = `${BLOB}.node`;
// packages loaded with require() at run time, never bundled
const RUNTIME = ['better-sqlite3'];

function fail(why) {
  for (const f of [BLOB, STAMP, BUNDLE]) fs.rmSync(f, { force: true });
  process.stderr.write(`rcopy: no startup snapshot (${why}); the CLI starts from its module files\n`);
  process.exit(0);
}

const metaUrl = {
  name: 'rcopy-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(DIST + path.sep)) return undefined;
      const rel = path.relative(ROOT, args.path).split(path.sep).join('/');
      const text = fs.readFileSync(args.path, 'utf8').replaceAll('import.meta.url', `__rcopyMetaUrl(${JSON.stringify(rel)})`);
      return { contents: text, loader: 'js' };
    });
  },
};

const runtimeRequire = {
  name: 'rcopy-runtime-require',
  setup(build) {
    const filter = new RegExp(`^(${RUNTIME.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'rcopy-runtime' }));
    build.onLoad({ filter: /.*/, namespace: 'rcopy-runtime' }, (args) => ({
      contents: `module.exports = globalThis.__rcopyRequire(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// import('node:x') in a bundle for a snapshot: there is no dynamic import at run time there, so a
// built-in imported late is required (esbuild gives the required module the shape of an import)
const lateBuiltins = {
  name: 'rcopy-late-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' && isBuiltin(args.path) ? { path: args.path, namespace: 'rcopy-builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'rcopy-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  fail(`esbuild is not installed: ${e.message}`);
}
// the URL of a bundled module's file under the package root (known at run time: snapshot.ts)
const banner = 'var __rcopyMetaUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(globalThis.__rcopyRoot ?? require("node:path").dirname(__dirname), rel)).href;';
try {
  await esbuild.build({
    entryPoints: [path.join(DIST, 'src', 'cli', 'snapshot.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: BUNDLE,
    banner: { js: banner },
    plugins: [metaUrl, runtimeRequire, lateBuiltins],
    logLevel: 'silent',
  });
} catch (e) {
  fail(`bundling failed: ${e.message.split('\n')[0]}`);
}
// what would fail only when a command runs: an import() left in the bundle
const left = fs.readFileSync(BUNDLE, 'utf8').match(/[^\w$.]import\((?!\))[^)]{0,60}/);
if (left) fail(`the bundle still imports at run time: ${left[0].trim()}`);
fs.rmSync(BLOB, { force: true });
const r = spawnSync(process.execPath, ['--snapshot-blob', BLOB, '--build-snapshot', BUNDLE], { encoding: 'utf8', cwd: DIST });
// node warns that child_process is "not yet fully verified" in snapshots: it is only used at run time
const err = (r.stderr ?? '')
  .split('\n')
  .filter((l) => l && !/not yet fully verified|may still work|request support|--trace-warnings/.test(l))
  .join('\n');
if (r.status !== 0 || !fs.existsSync(BLOB)) fail(`node --build-snapshot failed: ${err.split('\n')[0] || `status ${r.status}`}`);
// the node that built the blob: bin/rcopy uses the blob only with this very file
fs.writeFileSync(STAMP, `${fs.realpathSync(process.execPath)}\n`);
if (!process.env.RCOPY_KEEP_BUNDLE) fs.rmSync(BUNDLE);
