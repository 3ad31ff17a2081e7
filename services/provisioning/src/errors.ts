/**
 * Provisioning refused the session: what the client sees as a FATAL ErrorResponse (SQLSTATE, message,
 * and where there is one, the database's detail and a hint naming the fix).
 */
export class ProvisioningError extends Error {
  constructor(readonly fields: { code: string; message: string; detail?: string; hint?: string }) {
    super(fields.message);
    this.name = 'ProvisioningError';
  }
}

/** SQLSTATE of a user that exists and is not a member of teleport-auto-user. */
export const USER_NOT_MANAGED = 'TP001';
/** SQLSTATE of a session asking for other roles than the user's live sessions hold. */
export const ROLES_CHANGED = 'TP002';
