import { RpcClient } from '#libs/bus';
import { Bus } from './request-tracing.js';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { BadParameterError } from '#libs/common';
import { AuthRpc, Rpc, type SignedCert } from '#libs/events';

/** Endpoints that need no client certificate: discovery, password login, signup links, joining, public CA certificates. */
@Controller('v1/webapi')
export class WebApiController {
  @Get('ping')
  ping(@Bus() rpc: RpcClient) {
    return rpc.call<AuthRpc.PingReply>(Rpc.Auth.Ping, {});
  }

  /** `tctl auth export --type=...`: CA certificates are public. */
  @Get('auth/export')
  async export(@Bus() rpc: RpcClient, @Query('type') type = '') {
    const caType = type.replace('-', '_');
    if (!['user', 'host', 'db', 'db_client'].includes(caType)) {
      throw new BadParameterError(`unknown CA type "${type}": use one of user, host, db, db-client`);
    }
    return rpc.call<{ certs: string[] }>(Rpc.Auth.CasExport, { type: caType });
  }

  /** Password login: the client sends its public key and gets a user certificate for it. */
  @Post('login')
  @HttpCode(200)
  login(@Bus() rpc: RpcClient, @Body() body: unknown) {
    return rpc.call<SignedCert & { expires: string }>(Rpc.Auth.Login, body);
  }

  @Get('users/password/token/:token')
  passwordToken(@Bus() rpc: RpcClient, @Param('token') token: string) {
    return rpc.call<AuthRpc.PasswordTokenView>(Rpc.Auth.PasswordTokenGet, { token });
  }

  @Put('users/password/token')
  setPassword(@Bus() rpc: RpcClient, @Body() body: unknown) {
    return rpc.call<{ user: string }>(Rpc.Auth.PasswordSet, body);
  }

  /**
   * A process exchanges a join token for a host certificate and bus credentials (`teleport db start
   * --token`); it then reaches the bus and receives its sessions through this proxy's port.
   */
  @Post('host/join')
  @HttpCode(200)
  async join(@Bus() rpc: RpcClient, @Body() body: unknown) {
    const joined = await rpc.call<AuthRpc.JoinReply>(Rpc.Auth.Join, body);
    const ping = await rpc.call<AuthRpc.PingReply>(Rpc.Auth.Ping, {});
    return { ...joined, cluster_name: ping.cluster_name };
  }
}
