// The list the guide walk works from: every command line of the five guides, in order, each with a
// verdict (run against this system, or not applicable with the reason). This checks the list itself;
// guide-walk.test.ts walks its `run` entries.
import { loadEntries } from './entries.js';

const entries = loadEntries();

it('lists the commands of all five guides, each with a verdict, and a reason for each one not run', () => {
  expect(new Set(entries.map((e) => e.guide))).toEqual(new Set(['000', '001', '002', '003', '004']));
  for (const e of entries) {
    expect(
      Object.keys(e).filter(
        (k) => !['guide', 'step', 'command', 'shows', 'writes', 'verdict', 'why', 'on', 'given', 'then', 'input', 'exits'].includes(k),
      ),
    ).toEqual([]);
    expect(e.step.trim()).not.toBe('');
    expect(e.command.trim()).not.toBe('');
    expect(['run', 'n/a']).toContain(e.verdict);
    if (e.verdict === 'n/a') expect(e.why?.trim()).toBeTruthy();
    else expect(e.why).toBeUndefined();
  }
});

it('keeps every guide in its own order: one block per guide, 000 to 004', () => {
  const order = entries.map((e) => e.guide).filter((g, i, all) => i === 0 || all[i - 1] !== g);
  expect(order).toEqual(['000', '001', '002', '003', '004']);
});

it('has no run entry for what this product has no part in (installers, helm, kubectl, systemctl, the AWS CLI)', () => {
  const foreign = /^(sudo\s+)?(curl|helm|kubectl|systemctl|journalctl|aws|apt-get|yum|dnf|zypper)\b/;
  const run = entries.filter((e) => e.verdict === 'run' && !e.writes);
  expect(run.filter((e) => foreign.test(e.command.trim())).map((e) => `${e.guide}: ${e.command.trim()}`)).toEqual([]);
});
