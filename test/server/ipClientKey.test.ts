// Tokenless clients' keys (server/clients.ts ipClientKey): an IPv6 caller is its /64, whatever the spelling.
import { describe, expect, it } from 'vitest'
import { ipClientKey } from '../../server/clients.js'

describe('ipClientKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as its IPv4 address and IPv6 by its /64', () => {
    expect(ipClientKey('203.0.113.7')).toBe('ip:203.0.113.7')
    expect(ipClientKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7')
    expect(ipClientKey('2001:db8:1:2::1')).toBe('ip:2001:db8:1:2::/64')
    expect(ipClientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('ip:2001:db8:1:2::/64')
    expect(ipClientKey('2001:db8:1:3::1')).toBe('ip:2001:db8:1:3::/64')
    expect(ipClientKey('::1')).toBe('ip:::/64')
  })

  it('keeps what it cannot parse as it is, and a missing address as unknown', () => {
    expect(ipClientKey('not-an-address')).toBe('ip:not-an-address')
    expect(ipClientKey(undefined)).toBe('ip:unknown')
  })
})
