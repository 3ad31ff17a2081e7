import { Module, type DynamicModule } from '@nestjs/common';
import type { BusSigner } from '#libs/bus';
import { BUS_SIGNER, SESSIONS, type SessionLookup } from './auth.tokens.js';
import { CertAuthorities } from './cas/cert-authorities.js';
import { CertsController } from './certs/certs.controller.js';
import { LocksController } from './locks/locks.controller.js';
import { LocksService } from './locks/locks.service.js';
import { RolesController } from './roles/roles.controller.js';
import { RolesService } from './roles/roles.service.js';
import { TokensController } from './tokens/tokens.controller.js';
import { TokensService } from './tokens/tokens.service.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';
import { WebSessions, WebSessionsController } from './users/web-sessions.js';

export interface AuthServices {
  cas: CertAuthorities;
  roles: RolesService;
  users: UsersService;
  tokens: TokensService;
  busSigner: BusSigner;
  sessions: SessionLookup;
  locks: LocksService;
  webSessions: WebSessions;
}

@Module({})
export class AuthModule {
  static register(services: AuthServices): DynamicModule {
    return {
      module: AuthModule,
      controllers: [UsersController, RolesController, TokensController, LocksController, CertsController, WebSessionsController],
      providers: [
        { provide: CertAuthorities, useValue: services.cas },
        { provide: RolesService, useValue: services.roles },
        { provide: UsersService, useValue: services.users },
        { provide: TokensService, useValue: services.tokens },
        { provide: BUS_SIGNER, useValue: services.busSigner },
        { provide: SESSIONS, useValue: services.sessions },
        { provide: LocksService, useValue: services.locks },
        { provide: WebSessions, useValue: services.webSessions },
      ],
    };
  }
}
