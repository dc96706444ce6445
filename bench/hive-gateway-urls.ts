/** The supergraph as Hive Gateway gets it in `npm run bench:gateway` (bench/hive-gateway.ts). */

/**
 * The supergraph with each `@join__graph(name: ..., url: ...)` pointing at the bench's
 * subgraph (the committed one has placeholder hosts). Every subgraph needs a URL, and a URL
 * must be one (it is written into the SDL as a string).
 */
export function withSubgraphUrls(sdl: string, subgraphUrls: Partial<Record<string, string>>): string {
  return sdl.replace(/@join__graph\(name: "([a-z]+)", url: "[^"]*"\)/g, (_whole, name: string) => {
    const url = subgraphUrls[name];
    if (!url) throw new Error(`hive-gateway: no URL for subgraph ${name} in BENCH_SUBGRAPH_URLS`);
    if (!URL.canParse(url) || /["\\\s]/.test(url))
      throw new Error(`hive-gateway: the URL of subgraph ${name} is not a URL: ${JSON.stringify(url.slice(0, 100))}`);
    return `@join__graph(name: "${name}", url: "${url}")`;
  });
}
