import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSubdomainError, parseSubdomain } from '../../src/sites/subdomain.js';

describe('parseSubdomain', () => {
  it.each(['alameda.ca', 'edmonton.ab.canada', 'san-jose.ca', 'a1.b2'])('accepts %s', (subdomain) => {
    expect(parseSubdomain(subdomain)).toBe(subdomain);
  });

  it.each([
    ['', 'empty'],
    ['alameda', 'at least two'],
    ['Alameda.CA', 'lowercase'],
    ['../etc/passwd', 'each part'],
    ['alameda.ca/../../x', 'each part'],
    ['alameda..ca', 'each part'],
    ['-alameda.ca', 'each part'],
    ['alaméda.ca', 'each part'],
    ['alameda.ca ', 'each part'],
    [`${'a'.repeat(95)}.ca.xx`, 'longer than'],
  ])('rejects %j with a reason (%s)', (input, reason) => {
    expect(() => parseSubdomain(input)).toThrow(InvalidSubdomainError);
    expect(() => parseSubdomain(input)).toThrow(reason);
  });

  it('never accepts a value that could leave a folder or change a path', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (input) => {
        let accepted: string | undefined;
        try {
          accepted = parseSubdomain(input);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidSubdomainError);
          return;
        }
        expect(accepted).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
        expect(accepted).not.toContain('..');
        expect(accepted.length).toBeLessThanOrEqual(100);
      }),
      { numRuns: 2_000 },
    );
  });
});
