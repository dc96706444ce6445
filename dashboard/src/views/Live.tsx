import { useEffect, useState } from 'react';
import { useSubscription } from 'urql';
import { LiveEventsDocument, type LiveEventsSubscription } from '../generated/graphql';
import { ErrorBox, ViewRoot, useI18n, useViewReady } from '../components';
import { resumePoint } from '../logic';

type LiveEvent = LiveEventsSubscription['caseEvents'];
const AFTER_KEY = 'avrr.dashboard.live.after';
const EVENTS_KEY = 'avrr.dashboard.live.events';
const KEEP = 50;

function storedEvents(): LiveEvent[] {
  try {
    const parsed = JSON.parse(window.sessionStorage.getItem(EVENTS_KEY) ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as LiveEvent[]).slice(0, KEEP) : [];
  } catch {
    return [];
  }
}

/**
 * Case events as they happen (graphql-ws). The last event id shown is kept in sessionStorage: after
 * a reload the subscription resumes with `after` it, so the events in between arrive first, in order.
 */
export function Live() {
  const { t, dateTime } = useI18n();
  const [after] = useState(() => resumePoint(window.sessionStorage.getItem(AFTER_KEY)));
  const [events, setEvents] = useState<LiveEvent[]>(storedEvents);
  const [result] = useSubscription(
    { query: LiveEventsDocument, variables: { after } },
    (previous: LiveEvent[] | undefined, data: LiveEventsSubscription) =>
      [data.caseEvents, ...(previous ?? [])].slice(0, KEEP),
  );
  const incoming = result.data;
  useEffect(() => {
    const latest = incoming?.[0];
    if (!incoming || !latest) return;
    window.sessionStorage.setItem(AFTER_KEY, latest.id);
    setEvents((shown) => {
      const known = new Set(shown.map((e) => e.id));
      const fresh = incoming.filter((e) => !known.has(e.id));
      if (fresh.length === 0) return shown;
      const next = [...fresh, ...shown].slice(0, KEEP);
      window.sessionStorage.setItem(EVENTS_KEY, JSON.stringify(next));
      return next;
    });
  }, [incoming]);
  const connected = !result.error && !result.stale;
  useViewReady('live', true);
  return (
    <ViewRoot name="live" title={t('live.title')} busy={false}>
      <p className="note">{t('live.explain')}</p>
      <p role="status" data-testid="live-status">
        {result.error ? t('live.status.error') : connected ? t('live.status.live') : t('live.status.connecting')}
      </p>
      <ErrorBox error={result.error} />
      {events.length === 0 ? (
        <p>{t('live.none')}</p>
      ) : (
        <table data-testid="live-events">
          <caption>{t('live.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('live.at')}</th>
              <th scope="col">{t('live.type')}</th>
              <th scope="col">{t('live.case')}</th>
              <th scope="col">{t('live.step')}</th>
            </tr>
          </thead>
          <tbody aria-live="polite">
            {events.map((e) => (
              <tr key={e.id} data-testid={`event-${e.id}`} data-case={e.caseId} data-type={e.type}>
                <td>
                  <time dateTime={e.at}>{dateTime(e.at)}</time>
                </td>
                <td>{e.type}</td>
                <td>
                  <a href={`#/case/${encodeURIComponent(e.caseId)}`}>{e.case?.caseReference ?? e.caseId}</a>
                </td>
                <td>
                  {e.transition ?? ''} {e.status ? `→ ${e.status}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </ViewRoot>
  );
}
