import { badUserInput } from './errors.js';

export const MAX_PAGE_SIZE = 200;

/** Opaque cursors: base64url of the last seen key, prefixed so foreign cursors are refused. */
export function encodeCursor(key: string): string {
  return Buffer.from(`c1:${key}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, argument = 'after'): string {
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!decoded.startsWith('c1:') || decoded.length < 4) {
    throw badUserInput(`Argument "${argument}" is not a cursor returned by this API`, argument);
  }
  return decoded.slice(3);
}

export function checkPageSize(first: number | null | undefined, argument = 'first'): number {
  const size = first ?? 50;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badUserInput(`Argument "${argument}" must be between 1 and ${MAX_PAGE_SIZE}, got ${size}`, argument);
  }
  return size;
}
