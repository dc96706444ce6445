import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/**
 * The sustainability instrument as configuration (docs/domain.md, "Monitoring"): its items,
 * their dimension (economic, social, psychosocial), answer scales with numeric values, item
 * weights and dimension weights, and its version. The default file is
 * config/instruments/rss-default.v1.json; `INSTRUMENT_FILE` points at another. It follows the
 * Reintegration Sustainability Survey approach; its weights are not the official instrument's
 * unless a programme supplies them. A file that does not validate refuses the start.
 */

export const DIMENSIONS = ['economic', 'social', 'psychosocial'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const DEFAULT_INSTRUMENT_FILE = 'config/instruments/rss-default.v1.json';
/** Bounds of an instrument file: what a hostile or mistaken file cannot exceed. */
export const MAX_INSTRUMENT_BYTES = 256 * 1024;
export const MAX_INSTRUMENT_ITEMS = 200;
export const MAX_ITEM_TEXT_CHARS = 500;
export const MAX_SCALES = 20;
export const MAX_SCALE_OPTIONS = 11;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const weight = z.number().finite().positive().max(100);
const plainText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u001F\u007F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u.test(s), {
      message: 'must not contain control or invisible formatting characters',
    });

const scaleOption = z.object({ value: z.number().finite().min(-1_000).max(1_000), label: plainText(100) }).strict();

const instrumentSchema = z
  .object({
    id: z.string().regex(ID, 'must be 1 to 40 letters, digits, "_", "." or "-"'),
    version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$/, 'must be 1 to 20 letters, digits, "." or "-"'),
    title: plainText(200),
    basis: plainText(1_000),
    /** A dimension is scored only when at least this share of its items is answered. */
    minAnsweredShare: z.number().finite().gt(0).max(1),
    dimensions: z
      .object({
        economic: z.object({ weight }).strict(),
        social: z.object({ weight }).strict(),
        psychosocial: z.object({ weight }).strict(),
      })
      .strict(),
    scales: z
      .record(
        z.string().regex(ID, 'a scale name must be 1 to 40 letters, digits, "_", "." or "-"'),
        z.array(scaleOption),
      )
      .refine((s) => Object.keys(s).length >= 1 && Object.keys(s).length <= MAX_SCALES, {
        message: `must hold 1 to ${MAX_SCALES} scales`,
      }),
    items: z
      .array(
        z
          .object({
            id: z.string().regex(ID, 'an item id must be 1 to 40 letters, digits, "_", "." or "-"'),
            dimension: z.enum(DIMENSIONS),
            text: plainText(MAX_ITEM_TEXT_CHARS),
            scale: z.string(),
            weight,
          })
          .strict(),
      )
      .min(1)
      .max(MAX_INSTRUMENT_ITEMS),
  })
  .strict()
  .superRefine((doc, ctx) => {
    for (const [name, options] of Object.entries(doc.scales)) {
      if (options.length < 2 || options.length > MAX_SCALE_OPTIONS)
        ctx.addIssue({
          code: 'custom',
          path: ['scales', name],
          message: `must hold 2 to ${MAX_SCALE_OPTIONS} options`,
        });
      if (new Set(options.map((o) => o.value)).size !== options.length)
        ctx.addIssue({ code: 'custom', path: ['scales', name], message: 'values must be distinct' });
    }
    const seen = new Set<string>();
    doc.items.forEach((item, i) => {
      if (seen.has(item.id))
        ctx.addIssue({ code: 'custom', path: ['items', i, 'id'], message: `"${item.id}" is given twice` });
      seen.add(item.id);
      if (!Object.prototype.hasOwnProperty.call(doc.scales, item.scale))
        ctx.addIssue({ code: 'custom', path: ['items', i, 'scale'], message: `names no scale ("${item.scale}")` });
    });
    for (const dimension of DIMENSIONS) {
      if (!doc.items.some((item) => item.dimension === dimension))
        ctx.addIssue({ code: 'custom', path: ['items'], message: `no item measures the ${dimension} dimension` });
    }
  });

export type InstrumentFile = z.infer<typeof instrumentSchema>;

export interface InstrumentItem {
  id: string;
  dimension: Dimension;
  text: string;
  weight: number;
  scale: ReadonlyArray<{ value: number; label: string }>;
  /** The scale's lowest and highest values: an answer is normalised to 0..1 between them. */
  min: number;
  max: number;
}

/** An instrument as the graph uses it: items with their scale resolved. */
export interface Instrument {
  id: string;
  version: string;
  title: string;
  basis: string;
  minAnsweredShare: number;
  dimensionWeights: Readonly<Record<Dimension, number>>;
  items: ReadonlyArray<InstrumentItem>;
  itemsById: ReadonlyMap<string, InstrumentItem>;
}

export type InstrumentCheck = { ok: true; instrument: Instrument } | { ok: false; problems: string[] };

/** Validates a parsed instrument file; problems name the path inside the file and the fault. */
export function checkInstrument(raw: unknown): InstrumentCheck {
  const parsed = instrumentSchema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      problems: parsed.error.issues
        .slice(0, 20)
        .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`),
    };
  const doc = parsed.data;
  const items = doc.items.map((item): InstrumentItem => {
    const scale = doc.scales[item.scale]!;
    const values = scale.map((o) => o.value);
    return {
      id: item.id,
      dimension: item.dimension,
      text: item.text,
      weight: item.weight,
      scale,
      min: Math.min(...values),
      max: Math.max(...values),
    };
  });
  return {
    ok: true,
    instrument: {
      id: doc.id,
      version: doc.version,
      title: doc.title,
      basis: doc.basis,
      minAnsweredShare: doc.minAnsweredShare,
      dimensionWeights: {
        economic: doc.dimensions.economic.weight,
        social: doc.dimensions.social.weight,
        psychosocial: doc.dimensions.psychosocial.weight,
      },
      items,
      itemsById: new Map(items.map((item) => [item.id, item])),
    },
  };
}

/** Reads and validates an instrument file; throws an error naming the path and the fault. */
export function loadInstrument(path: string): Instrument {
  const fail = (fault: string) => new Error(`Instrument file ${path}: ${fault}`);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  if (size > MAX_INSTRUMENT_BYTES) throw fail(`is ${size} bytes, more than ${MAX_INSTRUMENT_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw fail(`is not JSON (${(error as Error).message})`);
  }
  const checked = checkInstrument(raw);
  if (!checked.ok) throw fail(checked.problems.join('; '));
  return checked.instrument;
}
