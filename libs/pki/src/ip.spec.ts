import { BadParameterError } from '#libs/common';
import { bytesToIp, ipToBytes } from './ip.js';

describe('ipToBytes / bytesToIp', () => {
  it.each([
    ['10.1.2.3', '0a010203', '10.1.2.3'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['2001:DB8:0:0::5', '20010db8000000000000000000000005', '2001:db8::5'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
  ])('%s', (text, hex, canonical) => {
    const bytes = ipToBytes(text);
    expect(bytes?.toString('hex')).toBe(hex);
    expect(bytesToIp(bytes!)).toBe(canonical);
  });

  it.each(['db.example.com', '10.1.2', '', '1::2::3'])('%j is not an IP address', (text) => {
    expect(ipToBytes(text)).toBeUndefined();
  });

  it('refuses an IPv6 zone index and odd byte counts', () => {
    expect(() => ipToBytes('fe80::1%eth0')).toThrow(BadParameterError);
    expect(() => bytesToIp(Buffer.alloc(5))).toThrow(BadParameterError);
  });
});
