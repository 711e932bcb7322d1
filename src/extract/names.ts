/**
 * One name per person within a document: "Council Member Maria Ortiz", "Ortiz" and "M. Ortiz"
 * are the same person when the document names nobody else who could be meant.
 */

/** "H.L." -> ["h.", "l."]; "Ortiz" -> ["ortiz"]. */
function tokensOf(name: string): string[] {
  return name
    .toLowerCase()
    .split(/\s+/)
    .flatMap((t) => (/^(?:\p{L}\.){2,}$/u.test(t) ? (t.match(/\p{L}\./gu) ?? []) : [t]))
    .filter((t) => t !== '');
}

const isInitial = (token: string): boolean => /^\p{L}\.?$/u.test(token);

/** Token `a` (of a shorter name) is token `b` or an initial of it. */
function tokenFits(a: string, b: string): boolean {
  const bare = (t: string) => t.replace(/\.$/, '');
  if (bare(a) === bare(b)) return true;
  return isInitial(a) && bare(b).startsWith(bare(a)) && !isInitial(b);
}

/**
 * Whether `long` names the same person as `short` in more detail: aligned from the surname,
 * every token of `short` is the token of `long` or its initial ("M. Ortiz" -> "Maria Ortiz",
 * "Okoro" -> "Frances B. Okoro", "de la Cruz" -> "Marisol de la Cruz").
 */
function covers(long: string[], short: string[]): boolean {
  if (short.length > long.length) return false;
  const offset = long.length - short.length;
  if (!short.every((t, i) => tokenFits(t, long[offset + i]!))) return false;
  return short.length < long.length || short.some((t, i) => t !== long[offset + i]);
}

/**
 * A mapping from every spelling of a person's name in a document to its fullest spelling. A name
 * that two different people could own ("Ortiz" with "Maria Ortiz" and "Luis Ortiz") stays as it is.
 * Also repaired: a hyphenated surname split by the text layer ("Walker" for "C Biggs-Walker") and a
 * given name cut from its surname by a line break ("Angela" for "Angela Moreau").
 */
export function nameResolver(names: Iterable<string>): (name: string) => string {
  const byKey = new Map<string, string>();
  for (const n of names) {
    const key = tokensOf(n).join(' ');
    if (key !== '' && !byKey.has(key)) byKey.set(key, n);
  }
  const entries = [...byKey].map(([key, name]) => ({ key, name, tokens: key.split(' ') }));
  const cache = new Map<string, string>();

  const fullest = (tokens: string[]): string | null => {
    let owners = entries.filter((e) => covers(e.tokens, tokens));
    if (owners.length === 0) {
      if (tokens.length !== 1) return null;
      const [only] = tokens as [string];
      // "Walker" for "Biggs-Walker", "Angela" for "Angela Moreau"
      owners = entries.filter((e) => e.tokens.at(-1)!.split('-').length > 1 && e.tokens.at(-1)!.split('-').includes(only));
      if (owners.length === 0) owners = entries.filter((e) => e.tokens.length > 1 && e.tokens[0] === only && !isInitial(e.tokens[0]!));
      if (owners.length === 0) return null;
    }
    // the owners no other owner covers
    const maximal = owners.filter((o) => !owners.some((p) => p !== o && covers(p.tokens, o.tokens)));
    return maximal.length === 1 ? maximal[0]!.name : null;
  };

  return (name: string): string => {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const resolved = fullest(tokensOf(name)) ?? byKey.get(tokensOf(name).join(' ')) ?? name;
    cache.set(name, resolved);
    return resolved;
  };
}
