import { AlreadyExistsError, BadParameterError, NotFoundError } from '#libs/common';
import type { RoleEvents } from '#libs/events';
import { fold } from '#libs/eventstore';
import type { Role } from '#libs/rbac';
import { roleDecider } from './role.decider.js';

const role = { kind: 'role', version: 'v7', metadata: { name: 'db' }, spec: { options: {}, allow: {}, deny: {} } } as Role;
const upserted: RoleEvents = { type: 'role.upserted', data: { role, builtin: false } };

describe('role decider', () => {
  it('creates, and refuses to create twice without -f', () => {
    expect(roleDecider.decide({ type: 'upsert', role, builtin: false, mustNotExist: true }, fold(roleDecider, []))).toHaveLength(1);
    expect(() => roleDecider.decide({ type: 'upsert', role, builtin: false, mustNotExist: true }, fold(roleDecider, [upserted]))).toThrow(
      AlreadyExistsError,
    );
    expect(roleDecider.decide({ type: 'upsert', role, builtin: false, mustNotExist: false }, fold(roleDecider, [upserted]))).toHaveLength(
      1,
    );
  });

  it('seeds a built-in role once and keeps later edits', () => {
    expect(roleDecider.decide({ type: 'upsert', role, builtin: true, mustNotExist: false }, fold(roleDecider, [upserted]))).toEqual([]);
  });

  it('refuses to delete a role that users hold, or one that does not exist', () => {
    expect(() => roleDecider.decide({ type: 'delete', name: 'db', usedBy: ['alice'] }, fold(roleDecider, [upserted]))).toThrow(
      BadParameterError,
    );
    expect(() => roleDecider.decide({ type: 'delete', name: 'db', usedBy: [] }, fold(roleDecider, []))).toThrow(NotFoundError);
    expect(roleDecider.decide({ type: 'delete', name: 'db', usedBy: [] }, fold(roleDecider, [upserted]))).toEqual([
      { type: 'role.deleted', data: {} },
    ]);
  });
});
