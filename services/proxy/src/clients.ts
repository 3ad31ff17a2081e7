import { RpcClient } from '#libs/bus';

/** The proxy's handles on the control plane; plain request/reply over NATS. */
export class ControlPlane {
  constructor(
    readonly auth: RpcClient,
    readonly inventory: RpcClient,
    readonly broker: RpcClient,
    readonly audit: RpcClient,
  ) {}

  static connect(servers: string[]): ControlPlane {
    return new ControlPlane(
      new RpcClient(servers, 'proxy-auth'),
      new RpcClient(servers, 'proxy-inventory'),
      new RpcClient(servers, 'proxy-broker'),
      new RpcClient(servers, 'proxy-audit'),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.auth.close(), this.inventory.close(), this.broker.close(), this.audit.close()]);
  }
}
