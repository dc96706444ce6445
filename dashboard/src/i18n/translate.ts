/** Message lookup and locale formatting, free of the bundler (unit-tested in node). */
export type Messages = Record<string, string>;

/** The first of the reader's preferred languages we have, else `fallback`. */
export function pickLocale(preferred: readonly string[], available: readonly string[], fallback: string): string {
  for (const wanted of preferred) {
    const exact = available.find((l) => l.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const base = wanted.split('-')[0]?.toLowerCase();
    const partial = available.find((l) => l.split('-')[0]?.toLowerCase() === base);
    if (partial) return partial;
  }
  return fallback;
}

/** `{name}` placeholders replaced by `params` (missing ones left as written). */
export function interpolate(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

export interface Translator {
  locale: string;
  t: (key: string, params?: Record<string, string | number>) => string;
  number: (value: number, options?: Intl.NumberFormatOptions) => string;
  percent: (share: number) => string;
  euros: (cents: number) => string;
  date: (iso: string) => string;
  dateTime: (iso: string) => string;
}

export function translator(locale: string, all: Record<string, Messages>): Translator {
  const messages = all[locale] ?? {};
  const english = all.en ?? {};
  const numberFormat = new Intl.NumberFormat(locale);
  const percentFormat = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const euroFormat = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });
  const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });
  return {
    locale,
    t: (key, params) => interpolate(messages[key] ?? english[key] ?? key, params),
    number: (value, options) => (options ? new Intl.NumberFormat(locale, options) : numberFormat).format(value),
    percent: (share) => percentFormat.format(share),
    euros: (cents) => euroFormat.format(cents / 100),
    date: (iso) => (Number.isNaN(Date.parse(iso)) ? iso : dateFormat.format(new Date(iso))),
    dateTime: (iso) => (Number.isNaN(Date.parse(iso)) ? iso : dateTimeFormat.format(new Date(iso))),
  };
}
