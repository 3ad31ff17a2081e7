import { evaluateSelector, matchLabels, type LabelSelector, type Labels } from './labels.js';

describe('matchLabels', () => {
  const prod: Labels = { env: 'prod', region: 'eu-west-1', team: 'payments' };

  it.each<[string, LabelSelector | undefined, Labels, boolean]>([
    ['an undefined selector matches nothing', undefined, prod, false],
    ['an empty selector matches nothing', {}, prod, false],
    ['an empty selector matches nothing, even unlabeled', {}, {}, false],
    ["'*': '*' matches everything", { '*': '*' }, prod, true],
    ["'*': '*' matches an unlabeled database", { '*': '*' }, {}, true],
    ["'*': ['*'] matches an unlabeled database", { '*': ['*'] }, {}, true],
    ["'*': '*' wins over other keys", { '*': '*', env: 'dev' }, prod, true],
    ['an exact value matches', { env: 'prod' }, prod, true],
    ['an exact value does not match another value', { env: 'dev' }, prod, false],
    ['every key must exist', { env: 'prod', tier: '*' }, prod, false],
    ['every key must match', { env: 'prod', team: 'search' }, prod, false],
    ["value '*' matches any value of the key", { env: '*' }, prod, true],
    ["value '*' still needs the key", { owner: '*' }, prod, false],
    ['a glob matches anchored at both ends', { region: 'eu-*' }, prod, true],
    ['a glob is anchored at the start', { region: 'west-*' }, prod, false],
    ['a glob is anchored at the end', { region: 'eu-west' }, prod, false],
    ['a glob star in the middle', { region: 'eu-*-1' }, prod, true],
    ['glob dots are literal', { region: 'eu.west.1' }, { region: 'eu-west-1' }, false],
    ['a ^...$ value is a regular expression', { region: '^eu-(west|north)-[0-9]$' }, prod, true],
    ['a regular expression that does not match', { region: '^us-.*$' }, prod, false],
    ['a list matches when any element matches', { env: ['dev', 'prod'] }, prod, true],
    ['a list matches nothing when no element matches', { env: ['dev', 'stage'] }, prod, false],
    ['an empty list matches nothing', { env: [] }, prod, false],
    ['a list may mix globs and regular expressions', { team: ['^pay.*$', 'search'] }, prod, true],
    ['an inherited property is not a label', { constructor: '*' }, {}, false],
  ])('%s', (_case, selector, labels, expected) => {
    expect(matchLabels(selector, labels)).toBe(expected);
  });

  it('reports a regular expression that does not compile as invalid, not as a match', () => {
    // given a value only trait expansion can produce
    const selector = { env: '^(prod$' };
    // when / then
    expect(evaluateSelector(selector, { env: 'prod' })).toBe('invalid');
    expect(matchLabels(selector, { env: 'prod' })).toBe(false);
  });
});
