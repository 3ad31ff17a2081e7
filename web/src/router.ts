// History-API routing under /web. Links are plain <a href>; one document listener turns clicks on
// them into client-side navigation, so every link also works opened in a new tab.
import { useEffect, useState } from 'preact/hooks';

const NAVIGATE = 'dbaccess:navigate';

/** Paths under /web the server answers with other pages or files, so the browser must load them. */
const SERVER_PATHS = /^\/web\/(assets|invite|reset)(\/|$)/;

let navigatedInApp = false;

/** Whether the page on screen was reached by a client-side navigation (then focus moves to its heading). */
export const wasNavigatedInApp = (): boolean => navigatedInApp;

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const current = location.pathname + location.search;
  if (to === current && !options.replace) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  navigatedInApp = true;
  window.dispatchEvent(new Event(NAVIGATE));
}

export interface Location {
  path: string;
  search: string;
}

export function useLocation(): Location {
  const read = (): Location => ({ path: location.pathname.replace(/\/+$/, '') || '/', search: location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => {
      navigatedInApp = true;
      setLoc(read());
    };
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return loc;
}

export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element ? e.target.closest('a') : null;
    if (!a || !a.href || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || !/^\/web(\/|$)/.test(url.pathname) || SERVER_PATHS.test(url.pathname)) return;
    // In-page anchors (the skip link) are the browser's to follow.
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}

/** Where to go after signing in: only a page of this app, never another origin (`//evil`). */
export function safeNext(value: string | null): string {
  if (!value || !/^\/web(\/|$|\?)/.test(value) || value.startsWith('//') || SERVER_PATHS.test(value) || value.startsWith('/web/login')) {
    return '/web';
  }
  return value;
}
