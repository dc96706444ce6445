import { describe, expect, it } from 'vitest';
import { maskError } from '../../gateway/hardening.js';

describe('error masking', () => {
  const internal = { message: 'connect ECONNREFUSED 10.0.3.7:27017 (MongoServerSelectionError)', path: ['cases'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } };
  it('hides internal messages, hosts and stacks in production, keeping the path', () => {
    const masked = maskError(true)(internal);
    expect(masked).toEqual({ message: 'Internal server error', path: ['cases'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(masked)).not.toMatch(/10\.0\.3\.7|Mongo|stack/);
  });
  it('masks errors without a code and subgraph HTTP errors too', () => {
    expect(maskError(true)({ message: 'TypeError: x is undefined' }).message).toBe('Internal server error');
    expect(maskError(true)({ message: 'HTTP 502 from http://cases.internal:4001', extensions: { code: 'SUBGRAPH_ERROR' } }).message).toBe('Internal server error');
  });
  it('keeps errors written for clients, and everything outside production', () => {
    const notFound = { message: 'Case x was not found', extensions: { code: 'NOT_FOUND' } };
    expect(maskError(true)(notFound)).toBe(notFound);
    expect(maskError(false)(internal)).toBe(internal);
  });
  it('reports what it masked, so the gateway can log it', () => {
    const seen: unknown[] = [];
    maskError(true, (e) => seen.push(e))(internal);
    expect(seen).toEqual([internal]);
  });
});
