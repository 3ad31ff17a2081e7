import { clusterSubject, fromSubjectToken, parseClusterSubject, Rpc, subjectToken } from './subjects.js';

describe('subject tokens', () => {
  it.each(['alice', 'alice@example.com', 'a.b*c>d e', 'ünï', '%2E'])('round-trips %j', (name) => {
    const token = subjectToken(name);
    expect(token).not.toMatch(/[.*> ]/);
    expect(fromSubjectToken(token)).toBe(name);
  });

  it('keeps one token per aggregate id', () => {
    const subject = clusterSubject('user', 'alice@example.com');
    expect(subject).toBe('cluster.user.alice%40example%2Ecom');
    expect(parseClusterSubject(subject)).toEqual({ aggregate: 'user', id: 'alice@example.com' });
  });

  it('rejects subjects outside the cluster stream', () => {
    expect(parseClusterSubject('audit.x.y')).toBeUndefined();
    expect(parseClusterSubject('cluster.user')).toBeUndefined();
  });
});

describe('request subjects', () => {
  // A request on a subject a stream captures would be stored, and answered by JetStream with an ack.
  it('never fall inside a stream', () => {
    const subjects = Object.values(Rpc).flatMap((service) => Object.values(service));
    const captured = subjects.filter((s) => s.startsWith('audit.') || s.startsWith('cluster.'));
    expect(captured).toEqual([]);
  });
});
