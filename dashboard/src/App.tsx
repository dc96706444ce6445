import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider } from 'urql';
import { currentSession, devSignIn, oidcCallback, oidcSignIn, signOut, type Session } from './auth';
import { graphClient } from './client';
import { I18n, PrincipalContext, SelectField, useI18n } from './components';
import { catalogues, pickLocale, translator, type Translator } from './i18n';
import { parseRoute, parseRuntimeConfig, principalOfToken, type Route, type RuntimeConfig } from './logic';
import { Budget } from './views/Budget';
import { CaseView } from './views/CaseView';
import { Cases } from './views/Cases';
import { DataQuality } from './views/DataQuality';
import { Live } from './views/Live';
import { Overview } from './views/Overview';
import { Quality } from './views/Quality';
import { Sustainability } from './views/Sustainability';
import { Worklist } from './views/Worklist';

const NAV: Array<[string, string]> = [
  ['overview', 'nav.overview'],
  ['budget', 'nav.budget'],
  ['quality', 'nav.quality'],
  ['sustainability', 'nav.sustainability'],
  ['worklist', 'nav.worklist'],
  ['live', 'nav.live'],
  ['data-quality', 'nav.dataQuality'],
];

function useRoute(): Route {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return useMemo(() => parseRoute(hash), [hash]);
}

function CurrentView({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'budget': {
      const year = Number(route.params.get('year') ?? Number.NaN);
      return <Budget askedYear={Number.isInteger(year) && year >= 2000 && year <= 2100 ? year : null} />;
    }
    case 'quality':
      return <Quality />;
    case 'sustainability':
      return <Sustainability />;
    case 'worklist':
      return <Worklist />;
    case 'live':
      return <Live />;
    case 'data-quality':
      return <DataQuality />;
    case 'case':
      return <CaseView key={route.caseId} caseId={route.caseId} />;
    case 'cases':
      return <Cases params={route.params} />;
  }
}

function Shell(props: { config: RuntimeConfig; session: Session; onSignOut: () => void }) {
  const { t } = useI18n();
  const route = useRoute();
  const principal = useMemo(() => principalOfToken(props.session.token), [props.session.token]);
  const graph = useMemo(
    () => graphClient(props.config.graphqlPath, props.session.token),
    [props.config.graphqlPath, props.session.token],
  );
  useEffect(() => graph.dispose, [graph]);
  const who = principal
    ? t(`role.${principal.role}`, { scope: principal.memberState ?? principal.partnerId ?? '' })
    : t('auth.signIn');
  const active = route.view === 'case' ? 'worklist' : route.view === 'cases' ? 'quality' : route.view;
  return (
    <PrincipalContext.Provider value={principal}>
      <Provider value={graph.client}>
        <header className="top">
          <h1>{t('app.title')}</h1>
          <p data-testid="principal">{t('auth.signedInAs', { who })}</p>
          <button type="button" onClick={props.onSignOut} data-testid="sign-out">
            {t('auth.signOut')}
          </button>
        </header>
        <nav aria-label={t('nav.label')}>
          <ul>
            {NAV.map(([view, key]) => (
              <li key={view}>
                <a href={`#/${view}`} aria-current={active === view ? 'page' : undefined} data-testid={`nav-${view}`}>
                  {t(key)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <CurrentView key={`${route.view}`} route={route} />
        </main>
      </Provider>
    </PrincipalContext.Provider>
  );
}

function SignIn(props: { config: RuntimeConfig; onSession: (s: Session) => void }) {
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [choice, setChoice] = useState('0');
  const { auth } = props.config;
  return (
    <main id="main" tabIndex={-1} className="sign-in" data-testid="sign-in">
      <h1>{t('app.title')}</h1>
      {error && (
        <p role="alert" className="error">
          {t('auth.failed', { message: error })}
        </p>
      )}
      {auth.mode === 'none' && <p data-testid="auth-none">{t('auth.none')}</p>}
      {auth.mode === 'oidc' && (
        <>
          <p>{t('auth.oidcExplain')}</p>
          <button type="button" onClick={() => oidcSignIn(props.config).catch((e: Error) => setError(e.message))}>
            {t('auth.signIn')}
          </button>
        </>
      )}
      {auth.mode === 'dev' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const principal = auth.principals[Number(choice)];
            if (principal)
              devSignIn(principal)
                .then(props.onSession)
                .catch((err: Error) => setError(err.message));
          }}
        >
          <h2>{t('auth.devTitle')}</h2>
          <p>{t('auth.devExplain')}</p>
          <SelectField
            testid="dev-principal"
            label={t('auth.devPrincipal')}
            value={choice}
            onChange={setChoice}
            options={auth.principals.map((p, i) => ({ value: String(i), label: p.label }))}
          />
          <button type="submit" data-testid="dev-sign-in">
            {t('auth.signIn')}
          </button>
        </form>
      )}
    </main>
  );
}

type Boot =
  | { state: 'loading' }
  | { state: 'failed'; message: string }
  | { state: 'ready'; config: RuntimeConfig; i18n: Translator; session: Session | null };

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const load = useCallback(async () => {
    const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`${import.meta.env.BASE_URL}config.json answered ${response.status}`);
    const config = parseRuntimeConfig(await response.json());
    const available = config.locales.filter((l) => catalogues[l]);
    const locale = pickLocale(
      navigator.languages,
      available,
      catalogues[config.defaultLocale] ? config.defaultLocale : 'en',
    );
    const i18n = translator(locale, catalogues);
    document.documentElement.lang = locale;
    document.title = i18n.t('app.title');
    if (config.auth.mode === 'oidc' && window.location.pathname === config.auth.redirectPath) {
      await oidcCallback(config);
      window.history.replaceState(null, '', import.meta.env.BASE_URL);
    }
    setBoot({ state: 'ready', config, i18n, session: await currentSession(config) });
  }, []);
  useEffect(() => {
    load().catch((e: Error) => setBoot({ state: 'failed', message: e.message }));
  }, [load]);
  const fallback = useMemo(() => translator('en', catalogues), []);
  if (boot.state !== 'ready')
    return (
      <main id="main" data-testid="boot">
        <h1>{fallback.t('app.title')}</h1>
        <p role={boot.state === 'failed' ? 'alert' : 'status'}>
          {boot.state === 'failed'
            ? fallback.t('app.configError', { message: boot.message })
            : fallback.t('app.loadingConfig')}
        </p>
      </main>
    );
  const { config, i18n, session } = boot;
  return (
    <I18n.Provider value={i18n}>
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        {i18n.t('app.skip')}
      </a>
      {session ? (
        <Shell
          config={config}
          session={session}
          onSignOut={() => {
            void signOut(config).then(() => setBoot({ ...boot, session: null }));
          }}
        />
      ) : (
        <SignIn config={config} onSession={(s) => setBoot({ ...boot, session: s })} />
      )}
    </I18n.Provider>
  );
}
