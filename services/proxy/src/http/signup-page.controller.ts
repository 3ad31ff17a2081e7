import { randomBytes } from 'node:crypto';
import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { signupPage } from './signup-page.js';

@Controller('web')
export class SignupPageController {
  @Get(['invite/:token', 'reset/:token'])
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  page(@Res() res: Response): void {
    const nonce = randomBytes(16).toString('base64');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'`,
    );
    res.type('html').send(signupPage(nonce));
  }
}
