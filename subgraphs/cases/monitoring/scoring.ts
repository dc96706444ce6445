import { DIMENSIONS, type Dimension, type Instrument } from './instrument.js';

/**
 * Scoring a sustainability assessment, pure: each answer is normalised to 0..1 on its item's
 * scale ((value - min) / (max - min)); a dimension's score is the weighted mean of its answered
 * items, or null when fewer than `minAnsweredShare` of its items are answered (rounded up);
 * the overall score is the weighted mean of the three dimensions, or null when any of them is
 * null (an overall score that silently left out a dimension would not be comparable).
 */
export interface SustainabilityScores {
  economic: number | null;
  social: number | null;
  psychosocial: number | null;
  overall: number | null;
}

export interface Answer {
  itemId: string;
  value: number;
}

/** Scores are kept to 4 decimals: enough to compare, stable across runs. */
const round = (x: number) => Math.round(x * 10_000) / 10_000;

export function scoreAssessment(instrument: Instrument, answers: ReadonlyArray<Answer>): SustainabilityScores {
  const byItem = new Map(answers.map((a) => [a.itemId, a.value]));
  const dimension = (name: Dimension): number | null => {
    const items = instrument.items.filter((item) => item.dimension === name);
    const answered = items.filter((item) => byItem.has(item.id));
    if (answered.length === 0 || answered.length < Math.ceil(items.length * instrument.minAnsweredShare)) return null;
    let sum = 0;
    let weights = 0;
    for (const item of answered) {
      const normalised = (byItem.get(item.id)! - item.min) / (item.max - item.min);
      sum += item.weight * normalised;
      weights += item.weight;
    }
    return round(sum / weights);
  };
  const scores = Object.fromEntries(DIMENSIONS.map((d) => [d, dimension(d)])) as Record<Dimension, number | null>;
  let overall: number | null = null;
  if (DIMENSIONS.every((d) => scores[d] !== null)) {
    let sum = 0;
    let weights = 0;
    for (const d of DIMENSIONS) {
      sum += instrument.dimensionWeights[d] * scores[d]!;
      weights += instrument.dimensionWeights[d];
    }
    overall = round(sum / weights);
  }
  return { ...scores, overall };
}

export type AnswersCheck = { ok: true; answers: Answer[] } | { ok: false; reason: string; index?: number };

/**
 * Answers as stored: each names an item of the instrument once, with a value of its scale.
 * The reason names the answer's position and item, never a returnee's data.
 */
export function checkAnswers(instrument: Instrument, raw: unknown): AnswersCheck {
  if (!Array.isArray(raw)) return { ok: false, reason: 'must be a list' };
  if (raw.length === 0) return { ok: false, reason: 'must hold at least one answer' };
  if (raw.length > instrument.items.length)
    return {
      ok: false,
      reason: `must hold at most ${instrument.items.length} answers (one per item), got ${raw.length}`,
    };
  const seen = new Set<string>();
  const answers: Answer[] = [];
  for (const [index, entry] of raw.entries()) {
    const { itemId, value } = (entry ?? {}) as { itemId?: unknown; value?: unknown };
    const item = typeof itemId === 'string' ? instrument.itemsById.get(itemId) : undefined;
    if (!item) return { ok: false, index, reason: `answer ${index} names no item of instrument ${instrument.id}` };
    if (seen.has(item.id)) return { ok: false, index, reason: `answer ${index} answers item ${item.id} twice` };
    seen.add(item.id);
    if (typeof value !== 'number' || !item.scale.some((option) => option.value === value))
      return {
        ok: false,
        index,
        reason: `answer ${index} (item ${item.id}) must be one of ${item.scale.map((o) => o.value).join(', ')}`,
      };
    answers.push({ itemId: item.id, value });
  }
  return { ok: true, answers };
}
