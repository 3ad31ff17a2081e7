import { decodeCommit } from './commit.js';
import { MalformedCommitError } from './errors.js';

const message = (text: string) => ({ subject: 'cluster.role.x', seq: 7, data: Buffer.from(text) });

describe('decodeCommit', () => {
  it('reads a JSON array of event envelopes', () => {
    const commit = [{ type: 'role.deleted', data: {}, time: '2024-01-01T00:00:00.000Z' }];
    expect(decodeCommit(message(JSON.stringify(commit)))).toEqual(commit);
  });

  it.each([
    ['not json!! secret', 'message 7 on cluster.role.x: not a commit (17 bytes that are not JSON)'],
    ['{"type":"role.deleted"}', 'message 7 on cluster.role.x: not a commit (Invalid input: expected array, received object'],
    ['[]', 'message 7 on cluster.role.x: not a commit (Too small: expected array to have >=1 items'],
    ['[{"type":"role.deleted","data":null,"time":"t"}]', 'message 7 on cluster.role.x: not a commit (0.data: '],
    ['[{"data":{},"time":"t"}]', 'message 7 on cluster.role.x: not a commit (0.type: '],
  ])('refuses %s without quoting it', (text, reason) => {
    const decode = () => decodeCommit(message(text));
    expect(decode).toThrow(MalformedCommitError);
    expect(decode).toThrow(reason);
    expect(decode).not.toThrow('secret');
  });
});
