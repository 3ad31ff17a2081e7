import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { localTime } from '../format';
import { wasNavigatedInApp } from '../router';

/** The page's <h1> and document title. After a client-side navigation, focus moves to the heading so a screen reader announces the new page. */
export function PageTitle({ title, children }: { title: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · dbaccess`;
  }, [title]);
  useEffect(() => {
    if (wasNavigatedInApp()) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div class="page-title">
      <h1 ref={ref} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </div>
  );
}

export function ErrorAlert({ message, testId }: { message: string | undefined; testId?: string }) {
  if (!message) return null;
  return (
    <div class="alert" role="alert" data-testid={testId}>
      {message}
    </div>
  );
}

/** Polite status text (loading, counts): announced without taking focus. */
export function Status({ children, testId }: { children: ComponentChildren; testId?: string }) {
  return (
    <p class="status" aria-live="polite" data-testid={testId}>
      {children}
    </p>
  );
}

export function Time({ iso }: { iso: unknown }) {
  if (typeof iso !== 'string' || !iso) return null;
  return (
    <time dateTime={iso} title={iso}>
      {localTime(iso)}
    </time>
  );
}
