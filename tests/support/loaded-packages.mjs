// `node --import ./loaded-packages.mjs ...` prints, on stderr, "loaded <package>" for each npm package
// the program loads: what a CLI pulls in at startup, for a test that keeps it lean.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      const seen = new Set();
      export async function load(url, context, next) {
        const name = /\\/node_modules\\/((@[^/]+\\/)?[^/]+)\\//.exec(url)?.[1];
        if (name && !seen.has(name)) {
          seen.add(name);
          process.stderr.write('loaded ' + name + '\\n');
        }
        return next(url, context);
      }`),
);
