// Placeholder until the extraction module lands.
export function extractPage(text: string): { entities: { persons: string[]; orgs: string[]; locations: string[] }; votes: unknown[] } {
  const persons = [...new Set([...text.matchAll(/(?:Council Member|Mayor) ([A-Z][a-z]+)/g)].map((m) => m[1]!))];
  return { entities: { persons, orgs: [], locations: [] }, votes: [] };
}
