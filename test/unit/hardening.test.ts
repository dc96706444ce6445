import type { BaseContext } from '@apollo/server';
import { GraphQLError, parse } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createSubgraphServer, type SubgraphDefinition } from '../../shared/subgraph.js';
import { maskError } from '../../shared/errors.js';

describe('error masking', () => {
  const internal = {
    message: 'connect ECONNREFUSED 10.0.3.7:27017 (MongoServerSelectionError)',
    path: ['cases'],
    extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] },
  };
  it('hides internal messages, hosts and stacks in production, keeping the path', () => {
    const masked = maskError(true)(internal);
    expect(masked).toEqual({
      message: 'Internal server error',
      path: ['cases'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(JSON.stringify(masked)).not.toMatch(/10\.0\.3\.7|Mongo|stack/);
  });
  it('masks errors without a code and subgraph HTTP errors too', () => {
    expect(maskError(true)({ message: 'TypeError: x is undefined' }).message).toBe('Internal server error');
    expect(
      maskError(true)({ message: 'HTTP 502 from http://cases.internal:4001', extensions: { code: 'SUBGRAPH_ERROR' } })
        .message,
    ).toBe('Internal server error');
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

describe('a subgraph in production', () => {
  it('answers an internal failure as "Internal server error", and client errors as written', async () => {
    const definition = {
      name: 'probe',
      typeDefs: parse('type Query { broken: String notFound: String }'),
      resolvers: {
        Query: {
          broken: () => {
            throw new Error('connect ECONNREFUSED 10.0.3.7:27017');
          },
          notFound: () => {
            throw new GraphQLError('Case x was not found', { extensions: { code: 'NOT_FOUND' } });
          },
        },
      },
      createContext: () => ({}),
    } as unknown as SubgraphDefinition<BaseContext>;
    const logged: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
    const server = createSubgraphServer(definition, { NODE_ENV: 'production' }, logger);
    await server.start();
    try {
      const result = await server.executeOperation({ query: '{ broken notFound }' });
      const errors = result.body.kind === 'single' ? result.body.singleResult.errors : undefined;
      expect(errors?.map((e) => [e.message, e.extensions?.code])).toEqual([
        ['Internal server error', 'INTERNAL_SERVER_ERROR'],
        ['Case x was not found', 'NOT_FOUND'],
      ]);
      expect(JSON.stringify(errors)).not.toMatch(/10\.0\.3\.7|ECONNREFUSED/);
      expect(String(logged[0])).toMatch(/ECONNREFUSED/);
    } finally {
      await server.stop();
    }
  });
});
