import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Transcript } from '../../../libs/client/src/transcript.js';
import { errorMessage, get, isAbort, ndjson, type AuditEvent } from '../api';
import { OutcomeBadge } from '../components/OutcomeBadge';
import { ErrorAlert, PageTitle, Status, Time } from '../components/common';
import { duration as formatDuration, shortId } from '../format';
import { advance, buildTimeline, clock, remapPosition, textAt } from '../player';
import type { SessionSummary } from '../sessions';

const SPEEDS = [0.5, 1, 2, 4, 8];
const TICK_MS = 50;

type Stream = 'waiting' | 'loading' | 'done';

/** What the stream has delivered so far: each event's transcript text and time, in order. */
interface Recorded {
  transcript: Transcript;
  texts: string[];
  times: unknown[];
}

export function Player({ sid }: { sid: string }) {
  const [summary, setSummary] = useState<SessionSummary | undefined>();
  const [summaryError, setSummaryError] = useState('');
  const [stream, setStream] = useState<Stream>('waiting');
  const [streamError, setStreamError] = useState('');
  const [follow, setFollow] = useState(false);
  const [endSeen, setEndSeen] = useState(false);
  const [count, setCount] = useState(0);
  const recorded = useRef<Recorded>({ transcript: new Transcript('\n'), texts: [], times: [] });

  const [skipIdle, setSkipIdle] = useState(true);
  const [speed, setSpeed] = useState(1);
  const [playing, setPlaying] = useState(false);
  // null: at the end, wherever the end is as events keep arriving.
  const [position, setPositionState] = useState<number | null>(null);
  const positionRef = useRef<number | null>(null);
  const setPosition = (value: number | null) => {
    positionRef.current = value;
    setPositionState(value);
  };

  useEffect(() => {
    const aborted = new AbortController();
    (async () => {
      let found: SessionSummary;
      try {
        found = await get<SessionSummary>(`/v1/webapi/sessions/${encodeURIComponent(sid)}`, aborted.signal);
      } catch (err) {
        if (!isAbort(err)) setSummaryError(errorMessage(err));
        return;
      }
      setSummary(found);
      const live = found.outcome === 'active';
      setFollow(live);
      setStream('loading');
      try {
        const url = `/v1/webapi/sessions/${encodeURIComponent(sid)}/events${live ? '?follow=true' : ''}`;
        await ndjson(url, aborted.signal, (event: AuditEvent) => {
          const r = recorded.current;
          r.texts.push(r.transcript.print(event) ?? '');
          r.times.push(event.time);
          if (event.event === 'db.session.end') setEndSeen(true);
          // Renders are batched: a chunk of many lines renders once.
          setCount(r.texts.length);
        });
      } catch (err) {
        if (isAbort(err)) return;
        setStreamError(errorMessage(err));
      }
      setStream('done');
    })();
    return () => aborted.abort();
  }, [sid]);

  // The summary was read while the session was live: read it again for its end, duration and counts.
  useEffect(() => {
    if (!follow || !endSeen) return;
    const aborted = new AbortController();
    const timer = setTimeout(() => {
      get<SessionSummary>(`/v1/webapi/sessions/${encodeURIComponent(sid)}`, aborted.signal)
        .then(setSummary)
        .catch(() => undefined);
    }, 1_000);
    return () => {
      clearTimeout(timer);
      aborted.abort();
    };
  }, [follow, endSeen, sid]);

  const timeline = useMemo(() => buildTimeline(recorded.current.texts, recorded.current.times, skipIdle), [count, skipIdle]);
  const live = follow && !endSeen && stream !== 'done';
  const shownPosition = live || position === null ? timeline.duration : Math.min(position, timeline.duration);
  const shown = textAt(timeline, shownPosition);

  const durationRef = useRef(timeline.duration);
  durationRef.current = timeline.duration;
  const speedRef = useRef(speed);
  speedRef.current = speed;

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const from = positionRef.current ?? durationRef.current;
      const next = advance(from, now - last, speedRef.current, durationRef.current);
      last = now;
      setPosition(next.position);
      if (next.ended) setPlaying(false);
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [playing]);

  useEffect(() => {
    if (live) setPlaying(false);
  }, [live]);

  // A terminal keeps its newest line in view while text is arriving or playing.
  const pre = useRef<HTMLPreElement>(null);
  useLayoutEffect(() => {
    const el = pre.current;
    if (el && (live || playing)) el.scrollTop = el.scrollHeight;
  }, [shown, live, playing]);

  const togglePlay = () => {
    if (playing) {
      setPlaying(false);
      return;
    }
    const at = positionRef.current;
    if (at === null || at >= timeline.duration) setPosition(0);
    setPlaying(true);
  };

  const toggleSkipIdle = (on: boolean) => {
    const r = recorded.current;
    const next = buildTimeline(r.texts, r.times, on);
    if (positionRef.current !== null) setPosition(remapPosition(timeline, next, positionRef.current));
    setSkipIdle(on);
  };

  const hasEvents = timeline.offsets.length > 0;
  const controlsDisabled = live || !hasEvents;

  if (summaryError) {
    return (
      <>
        <PageTitle title={`Session ${shortId(sid)}`} />
        <ErrorAlert message={summaryError} testId="player-error" />
        <p>
          <a href="/web/recordings">Back to the session recordings</a>
        </p>
      </>
    );
  }

  return (
    <>
      <PageTitle title={`Session ${shortId(sid)}`}>
        {follow && (
          <span class={live ? 'badge badge-live badge-pulse' : 'badge badge-neutral'} data-testid="live">
            {live ? 'LIVE' : endSeen ? 'Ended' : 'Disconnected'}
          </span>
        )}
      </PageTitle>
      <p class="mono muted small sid">{sid}</p>
      {summary ? <SessionFacts summary={summary} live={live} /> : <Status>Loading the session…</Status>}

      <section class="player" aria-label="Session playback">
        <div class="player-controls">
          <button
            type="button"
            class="button button-primary player-play"
            data-testid="play"
            onClick={togglePlay}
            disabled={controlsDisabled}
          >
            {playing ? 'Pause' : 'Play'}
          </button>
          <div class="field field-inline">
            <label for="player-speed">Speed</label>
            <select id="player-speed" value={String(speed)} onChange={(e) => setSpeed(Number(e.currentTarget.value))}>
              {SPEEDS.map((s) => (
                <option key={s} value={String(s)}>
                  {s}x
                </option>
              ))}
            </select>
          </div>
          <div class="field field-inline field-check">
            <input id="player-skip-idle" type="checkbox" checked={skipIdle} onChange={(e) => toggleSkipIdle(e.currentTarget.checked)} />
            <label for="player-skip-idle">Skip idle time</label>
          </div>
          <div class="field field-inline player-timeline">
            <label for="player-timeline">Timeline</label>
            <input
              id="player-timeline"
              type="range"
              data-testid="timeline"
              min={0}
              max={timeline.duration}
              step={10}
              value={shownPosition}
              disabled={controlsDisabled}
              aria-valuetext={`${clock(shownPosition)} of ${clock(timeline.duration)}`}
              onInput={(e) => setPosition(Number(e.currentTarget.value))}
            />
          </div>
          <span class="player-clock mono" role="timer" data-testid="position">
            {clock(shownPosition)} / {clock(timeline.duration)}
          </span>
        </div>
        <pre class="terminal" data-testid="transcript" ref={pre} tabIndex={0} aria-label="Session transcript">
          {shown}
        </pre>
        <Status testId="player-status">
          {stream === 'loading'
            ? live
              ? 'Following the live session: statements appear as they run.'
              : 'Loading the recording…'
            : stream === 'done' && !hasEvents && !streamError
              ? 'This session has no recorded events.'
              : follow && endSeen
                ? 'The session has ended.'
                : ''}
        </Status>
        <ErrorAlert message={streamError} testId="player-stream-error" />
      </section>
    </>
  );
}

function SessionFacts({ summary, live }: { summary: SessionSummary; live: boolean }) {
  const facts: Array<[string, ComponentChildren]> = [
    ['User', summary.user],
    ['Database service', summary.db_service],
    ['Database user', summary.db_user],
    ['Database name', summary.db_name],
    ['Started', <Time iso={summary.start} />],
    ['Duration', live || summary.outcome === 'active' ? 'in progress' : formatDuration(summary.duration_ms) || '—'],
    ['Statements', `${summary.statements}${summary.errors ? ` (${summary.errors} error${summary.errors === 1 ? '' : 's'})` : ''}`],
    [
      'Outcome',
      // A summary read while the session ran, not read again yet.
      summary.outcome === 'active' && !live ? <span class="badge badge-neutral">ended</span> : <OutcomeBadge session={summary} />,
    ],
  ];
  return (
    <>
      <dl class="facts" data-testid="session-facts">
        {facts.map(([term, value]) => (
          <div key={term} class="fact">
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {summary.message && <p class="muted">{summary.message}</p>}
    </>
  );
}
