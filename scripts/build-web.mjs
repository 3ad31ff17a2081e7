// Bundles the web UI (web/) into dist/web, which the proxy serves at /web. Run from anywhere:
// paths are taken from this file's location, so `node scripts/build-web.mjs` works in CI and locally.
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/web');
const assets = join(out, 'assets');

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target: 'es2022',
  logLevel: 'warning',
  legalComments: 'none',
};

async function main() {
  // Files left from an earlier build (a renamed chunk, an old map) would be served as if current.
  await rm(out, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: ['web/src/main.tsx'],
      outfile: join(assets, 'app.js'),
      format: 'esm',
      platform: 'browser',
      tsconfig: 'web/tsconfig.json',
      jsx: 'automatic',
      jsxImportSource: 'preact',
    }),
    esbuild.build({ ...common, entryPoints: ['web/src/app.css'], outfile: join(assets, 'app.css') }),
    copyFile(join(root, 'web/index.html'), join(out, 'index.html')),
  ]);
  const files = ['assets/app.js', 'assets/app.css', 'index.html'];
  const sizes = await Promise.all(files.map(async (f) => `${f} ${((await stat(join(out, f))).size / 1024).toFixed(1)} kB`));
  console.log(`web: ${relative(root, out)}: ${sizes.join(', ')}`);
}

main().catch((err) => {
  // esbuild has printed its diagnostics already; this names the failure for the caller.
  console.error(`web build failed: ${err instanceof Error ? err.message.split('\n')[0].replace(/:$/, '') : err}`);
  process.exit(1);
});
