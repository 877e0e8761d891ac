// Countries as the dashboard shows them: the ISO 3166-1 alpha-2 code the server stores, with
// its name in the page's language (Intl.DisplayNames, built into the browser: no table here).

/** The page's language's names of regions, if the browser has them (else codes alone). */
const regionNames = (() => {
  try {
    return new Intl.DisplayNames(undefined, { type: 'region', fallback: 'none' });
  } catch {
    return null;
  }
})();

/** "Germany (DE)" in the page's language; the code alone when the browser has no name. */
export function countryLabel(code: string): string {
  let name: string | undefined;
  try {
    name = regionNames?.of(code);
  } catch {
    name = undefined; // not a code Intl takes
  }
  return name === undefined || name === code ? code : `${name} (${code})`;
}
