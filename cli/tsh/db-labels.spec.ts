import { BadParameterError } from '#libs/common';
import { formatLabels, matchesSelector, parseLabelSelector } from './db-labels.js';

describe('parseLabelSelector', () => {
  it('reads key=value pairs separated by commas', () => {
    expect(parseLabelSelector('env=prod,team=billing')).toEqual({ env: 'prod', team: 'billing' });
  });

  it('is empty without an argument', () => {
    expect(parseLabelSelector(undefined)).toEqual({});
    expect(parseLabelSelector('')).toEqual({});
  });

  it('trims blanks, ignores empty parts and splits at the first =', () => {
    expect(parseLabelSelector(' env = prod ,, q=a=b')).toEqual({ env: 'prod', q: 'a=b' });
  });

  it('allows an empty value', () => {
    expect(parseLabelSelector('env=')).toEqual({ env: '' });
  });

  it.each(['env', '=prod', 'env=prod,team'])('refuses %j', (text) => {
    expect(() => parseLabelSelector(text)).toThrow(BadParameterError);
    expect(() => parseLabelSelector(text)).toThrow(/^invalid label selector ".*": expected key=value\[,key=value\.\.\.\]$/);
  });
});

describe('matchesSelector', () => {
  const labels = { env: 'prod', team: 'billing' };
  it('needs every label with exactly that value', () => {
    expect(matchesSelector(labels, {})).toBe(true);
    expect(matchesSelector(labels, { env: 'prod' })).toBe(true);
    expect(matchesSelector(labels, { env: 'prod', team: 'billing' })).toBe(true);
    expect(matchesSelector(labels, { env: 'dev' })).toBe(false);
    expect(matchesSelector(labels, { env: 'prod', region: 'eu' })).toBe(false);
    expect(matchesSelector(labels, { env: 'pro*' })).toBe(false);
    expect(matchesSelector(labels, { toString: '' })).toBe(false);
  });
});

describe('formatLabels', () => {
  it('sorts by key', () => {
    expect(formatLabels({ team: 'billing', env: 'prod' })).toBe('env=prod,team=billing');
    expect(formatLabels({})).toBe('');
  });
});
