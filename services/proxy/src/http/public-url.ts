import type { Request } from 'express';

/** Settings of this proxy that handlers need. */
export class ProxySettings {
  /** `proxy_service.public_addr`: names the proxy in links; otherwise the address the caller used. */
  constructor(readonly publicAddr: string | undefined) {}

  baseUrl(req: Request): string {
    return `https://${this.publicAddr ?? req.headers.host ?? 'localhost:3080'}`;
  }
}
