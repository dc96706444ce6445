import { Schema, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearCollection, connectDatabase, RequestOverError, withDbDeadline } from '../../shared/mongo.js';
import { testConfig } from '../helpers/system.js';

/**
 * Every read carries a server-side deadline (maxTimeMS) on the real store: the
 * connection's limit, shortened to what is left of the request it serves; a read whose
 * request is over (its caller gone or out of time) is never sent.
 */
describe('database reads carry the deadline of the request they serve', () => {
  const config = testConfig();
  let connection: Connection;
  const sent: string[] = [];
  const schema = new Schema({ _id: Number, text: String }, { collection: 'slow', versionKey: false });
  const Slow = () => (connection.models.Slow as ReturnType<typeof compile> | undefined) ?? compile();
  const compile = () => connection.model<{ _id: number; text: string }>('Slow', schema);

  beforeAll(async () => {
    connection = await connectDatabase(config, 'cases');
    const model = Slow();
    // Enough documents that an unindexed, unanchored $regex reads for a long while.
    for (let i = 0; i < 40_000; i += 5_000) {
      await model.collection.insertMany(
        Array.from({ length: 5_000 }, (_, k) => ({
          _id: i + k,
          text: `case ${i + k} with some words to scan through`,
        })) as never[],
      );
    }
    connection.getClient().on('commandStarted', (event: { commandName: string }) => sent.push(event.commandName));
  });

  afterAll(async () => {
    await connection.dropCollection('slow').catch(() => undefined);
    await connection.close();
  });

  it('in a request each find and aggregate gets the time left as maxTimeMS; background work sets its own', async () => {
    const signal = new AbortController().signal;
    const find = Slow()
      .find({ text: /never-there/ })
      .limit(1);
    const aggregate = Slow().aggregate([{ $match: { _id: 1 } }]);
    await withDbDeadline({ deadline: Date.now() + 60_000, signal }, async () => {
      await find.exec();
      await aggregate.exec();
    });
    expect(find.getOptions().maxTimeMS).toBeGreaterThan(50_000);
    expect(find.getOptions().maxTimeMS).toBeLessThanOrEqual(60_000);
    expect(aggregate.options.maxTimeMS).toBeGreaterThan(50_000);
    // A query's own, shorter limit stays; outside a request nothing is added.
    const own = Slow().findOne({ _id: 1 }).maxTimeMS(1_000);
    await withDbDeadline({ deadline: Date.now() + 60_000, signal }, () => own.exec());
    expect(own.getOptions().maxTimeMS).toBe(1_000);
    const background = Slow().findOne({ _id: 1 });
    await background.exec();
    expect(background.getOptions().maxTimeMS).toBeUndefined();
  });

  it('a read inside a request gets only what is left of the request, and the store stops it there', async () => {
    const started = Date.now();
    const full = await Slow()
      .countDocuments({ text: /never-there/ })
      .exec();
    const fullMs = Date.now() - started;
    expect(full).toBe(0);
    const controller = new AbortController();
    const error = await withDbDeadline({ deadline: Date.now() + 20, signal: controller.signal }, () =>
      Slow()
        .find({ text: /never-there/ })
        .exec(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // MongoDB's and FerretDB's MaxTimeMSExpired
    expect((error as { code?: number }).code).toBe(50);
    console.log(`unbounded scan ${fullMs} ms; the same read with 20 ms left stopped by the store (MaxTimeMSExpired)`);
  });

  it('a read whose caller has gone, or whose time is up, is never sent', async () => {
    const controller = new AbortController();
    controller.abort();
    sent.length = 0;
    const cancelled = await withDbDeadline({ deadline: Date.now() + 10_000, signal: controller.signal }, () =>
      Slow().findOne({ _id: 1 }).exec(),
    ).catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(RequestOverError);
    expect((cancelled as Error).message).toMatch(/cancelled/);
    const late = await withDbDeadline({ deadline: Date.now() - 1, signal: new AbortController().signal }, () =>
      Slow()
        .aggregate([{ $count: 'n' }])
        .exec(),
    ).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RequestOverError);
    expect((late as Error).message).toMatch(/out of time/);
    expect(sent).toEqual([]);
    // Outside a request, and inside one with time left, reads go through.
    expect(
      await withDbDeadline({ deadline: Date.now() + 10_000, signal: new AbortController().signal }, () =>
        Slow().findOne({ _id: 1 }).lean().exec(),
      ),
    ).toMatchObject({ _id: 1 });
    expect(sent).toEqual(['find']);
  });

  it('a running read stops at the store when its caller leaves (listed in currentOp until then)', async () => {
    const admin = connection.getClient().db('admin');
    const running = async (comment: string) => {
      const { inprog } = (await admin.command({ currentOp: 1 })) as {
        inprog: Array<{ command?: { comment?: unknown } }>;
      };
      return inprog.some((op) => op.command?.comment === comment);
    };
    const until = async (condition: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await condition()) return true;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return false;
    };
    // Every document against 8 patterns: a scan long enough (about a second) to leave in the middle of.
    const slow = { $or: Array.from({ length: 8 }, (_, i) => ({ text: new RegExp(`never-there-${i}`) })) };
    // A scan that runs to its end: seen running, then gone on its own.
    const started = Date.now();
    const full = Slow().countDocuments(slow).comment('scan-to-the-end').exec();
    expect(await until(() => running('scan-to-the-end'), 5_000)).toBe(true);
    await full;
    const fullMs = Date.now() - started;

    // The same scan for a request whose caller leaves after 20 ms: it rejects at once, and
    // the store stops it then, not at its end (nor at its maxTimeMS, a minute away).
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['find', () => Slow().find(slow).comment('left-find').exec()],
      ['countDocuments', () => Slow().countDocuments(slow).comment('left-countDocuments').exec()],
      [
        'aggregate',
        () =>
          Slow()
            .aggregate([{ $match: slow }, { $count: 'n' }])
            .option({ comment: 'left-aggregate' })
            .exec(),
      ],
    ];
    for (const [name, read] of reads) {
      const controller = new AbortController();
      const begun = Date.now();
      const result = withDbDeadline({ deadline: Date.now() + 60_000, signal: controller.signal }, read).then(
        () => 'answered',
        (error: unknown) => error,
      );
      expect(await until(() => running(`left-${name}`), 5_000)).toBe(true);
      controller.abort(new Error('the caller left'));
      expect(await result).toMatchObject({ message: 'the caller left' });
      const leftAfter = Date.now() - begun;
      expect(await until(async () => !(await running(`left-${name}`)), 2_000)).toBe(true);
      const stoppedAfter = Date.now() - begun;
      console.log(
        `${name}: caller left after ${leftAfter} ms; the store had stopped ${stoppedAfter} ms after the start ` +
          `(a full scan takes ${fullMs} ms)`,
      );
      expect(stoppedAfter).toBeLessThan(fullMs);
    }
  });

  it('empties 40,000 documents (the local store refuses one deleteMany({}): too many SQL variables)', async () => {
    expect(await Slow().estimatedDocumentCount().exec()).toBe(40_000);
    await clearCollection(Slow());
    expect(await Slow().countDocuments({}).exec()).toBe(0);
  });
});
