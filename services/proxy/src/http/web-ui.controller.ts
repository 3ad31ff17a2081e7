import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Redirect, Res } from '@nestjs/common';
import type { Response } from 'express';
import { NotFoundError } from '#libs/common';

/** The web UI's pages: scripts and styles of this origin alone, nothing inline, no framing. */
export const WEB_UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** `npm run build` writes the web UI to dist/web; this module is dist/services/proxy/src/http/. */
const WEB_DIR = fileURLToPath(new URL('../../../../web/', import.meta.url));

/** The built UI, read once: index.html and the files of assets/ (a few hundred kilobytes). */
function load(dir: string): { index?: Asset; assets: Map<string, Asset> } {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html'))) return { assets };
  const assetDir = join(dir, 'assets');
  for (const name of existsSync(assetDir) ? readdirSync(assetDir) : []) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(join(assetDir, name)) });
  }
  return { index: { type: TYPES['.html']!, body: readFileSync(join(dir, 'index.html')) }, assets };
}

/**
 * The web UI at /web, served by every proxy from its own files: any /web path is the one page (it
 * routes in the browser), its scripts and styles are under /web/assets. /web/invite and /web/reset
 * are the signup page's (SignupPageController, registered first).
 */
@Controller()
export class WebUiController {
  private readonly ui = load(WEB_DIR);

  @Get()
  @Redirect('/web', 302)
  root(): void {}

  @Get('web/assets/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const asset = this.ui.assets.get(file);
    if (!asset) throw new NotFoundError(`no such file: /web/assets/${file}`);
    // Names carry no content hash: the browser asks again each time, and gets 304 while unchanged.
    res.setHeader('Cache-Control', 'no-cache');
    this.send(res, asset);
  }

  @Get(['web', 'web/*path'])
  page(@Res() res: Response): void {
    if (!this.ui.index) {
      res.status(503).type('text/plain').send("the web UI was not built with this proxy: run 'npm run build'\n");
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    this.send(res, this.ui.index);
  }

  private send(res: Response, asset: Asset): void {
    res.setHeader('Content-Security-Policy', WEB_UI_CSP);
    res.type(asset.type).send(asset.body);
  }
}
