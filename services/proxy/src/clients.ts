import { RpcClient } from '#libs/bus';

/** The proxy's handles on the control plane; both are plain request/reply over NATS. */
export class ControlPlane {
  constructor(
    readonly auth: RpcClient,
    readonly inventory: RpcClient,
  ) {}

  static connect(servers: string[]): ControlPlane {
    return new ControlPlane(new RpcClient(servers, 'proxy-auth'), new RpcClient(servers, 'proxy-inventory'));
  }

  async close(): Promise<void> {
    await Promise.all([this.auth.close(), this.inventory.close()]);
  }
}
