import {
  subscribeToCaseEvents,
  type CaseEventsHandle,
  type CaseEventsSubscription,
  type WebSocketClass,
} from '../src/index.js';

/**
 * Following case events as a partner tool does (README, Subscribe to case events): the
 * generated CaseEventsDocument, the last id stored after each event so that a restart resumes
 * with `after`, and an error handler that tells an expired resume point (re-read, then
 * subscribe without `after`) from the rest. Reconnects within a run resume by themselves.
 */
export interface FollowOptions {
  url: string;
  token: string;
  /** The id stored by the previous run, if any. */
  after?: string | null;
  onEvent: (event: CaseEventsSubscription['caseEvents']) => void;
  /** Where the last id is kept (a file or a database row in a real tool). */
  store: (lastId: string) => void;
  onError: (code: string, message: string) => void;
  /** Leave out: the global WebSocket, or `ws` on Node 20. */
  webSocketImpl?: WebSocketClass;
}

export async function followCaseEvents(options: FollowOptions): Promise<CaseEventsHandle> {
  return subscribeToCaseEvents<CaseEventsSubscription>({
    url: options.url,
    token: options.token,
    after: options.after ?? null,
    filter: { types: ['ACCEPTED', 'MILESTONE_REACHED', 'PLAN_APPROVED', 'UPDATED', 'CLOSED'] },
    retryDelayMs: () => 100,
    ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
    onEvent: (event) => {
      options.onEvent(event);
      options.store(event.id);
    },
    onError: (error) => {
      if (error.code === 'RESUME_POINT_EXPIRED') {
        // Too old to resume: read the current state with a query, then subscribe without `after`.
      }
      options.onError(error.code, error.message);
    },
  });
}
