import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../../dashboard/codegen.js';

describe('dashboard: typed operations', () => {
  it('the committed operations are what codegen makes from the current graph', async () => {
    const [output] = await generate({ ...codegenConfig, hooks: {}, silent: true }, false);
    expect(output?.filename).toBe('dashboard/src/generated/graphql.ts');
    const formatted = await prettier.format(output!.content, {
      ...(await prettier.resolveConfig(output!.filename)),
      filepath: output!.filename,
    });
    expect(formatted).toBe(readFileSync(output!.filename, 'utf8'));
  }, 60_000);

  it('an operation that no longer fits the graph fails codegen (a schema change breaks the build)', async () => {
    const broken = {
      ...codegenConfig,
      hooks: {},
      silent: true,
      documents: ['query Gone { statistics { noSuchField } }'],
    };
    await expect(generate(broken, false)).rejects.toThrow(/noSuchField/);
  }, 60_000);
});
