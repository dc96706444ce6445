/**
 * The message catalogue. Every JSON file next to this one is a locale (en.json, fr.json, ...):
 * adding one needs no code change. Missing keys fall back to English, then to the key itself.
 */
import type { Messages } from './translate';

const files = import.meta.glob<Messages>('./*.json', { eager: true, import: 'default' });

export const catalogues: Record<string, Messages> = Object.fromEntries(
  Object.entries(files).map(([path, messages]) => [path.replace(/^.*\/(.+)\.json$/, '$1'), messages]),
);

export { interpolate, pickLocale, translator, type Messages, type Translator } from './translate';
