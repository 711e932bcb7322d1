/** A site's key, such as `alameda.ca` or `edmonton.ab.canada`: it names folders, workflow ids and URLs. */
export type Subdomain = string & { readonly __brand: 'Subdomain' };

export class InvalidSubdomainError extends Error {
  override name = 'InvalidSubdomainError';
}

const MAX_LENGTH = 100;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Accepts only lowercase DNS-style labels joined by dots. Everything downstream (paths on disk,
 * workflow ids, SQL parameters) relies on this, so hostile input stops here, before any side effect.
 */
export function parseSubdomain(input: string): Subdomain {
  const problem = subdomainProblem(input);
  if (problem) throw new InvalidSubdomainError(`"${printable(input)}" is not a valid site subdomain: ${problem}`);
  return input as Subdomain;
}

function subdomainProblem(input: string): string | undefined {
  if (input.length === 0) return 'it is empty';
  if (input.length > MAX_LENGTH) return `it is longer than ${MAX_LENGTH} characters`;
  if (input !== input.toLowerCase()) return 'it must be lowercase';
  const labels = input.split('.');
  if (labels.length < 2) return 'it needs at least two dot-separated parts, like alameda.ca';
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return 'each part may hold only a-z, 0-9 and inner hyphens (no slashes, dots in a row, spaces or other characters)';
    }
  }
  return undefined;
}

function printable(input: string): string {
  const shown = input.length > 60 ? `${input.slice(0, 60)}…` : input;
  return JSON.stringify(shown).slice(1, -1);
}
