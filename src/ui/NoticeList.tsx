import { useState } from 'react';
import { useNotices, type Notice, type NoticeTone } from '../store/notices';

/**
 * Failures and other messages in one list above the tabs. Errors are `role="alert"` so they are
 * announced. With several, the list collapses to the newest one under a bar that counts them,
 * shows them all on request and dismisses them all, so five bad files do not push the page down.
 */
export function NoticeList() {
  const notices = useNotices((state) => state.notices);
  const dismissAll = useNotices((state) => state.dismissAll);
  const announcement = useNotices((state) => state.announcement);
  const [expanded, setExpanded] = useState(false);
  const latest = notices[notices.length - 1];
  const shown = expanded || notices.length < 2 ? notices : latest ? [latest] : [];
  return (
    <>
      <p role="status" className="visually-hidden" data-testid="announcer">
        {announcement}
      </p>
      {notices.length > 0 && (
        <section className="notices" aria-label="Messages" data-testid="notices" data-count={notices.length}>
          {notices.length > 1 && (
            <div className="notices__bar">
              <p className="notices__count" data-testid="notices-count">
                {countWords(notices)}
                {!expanded && ': the newest is shown'}
              </p>
              <button type="button" className="button button--quiet" aria-expanded={expanded} data-testid="notices-toggle" onClick={() => setExpanded(!expanded)}>
                {expanded ? 'Show only the newest' : `Show all ${notices.length}`}
              </button>
              <button
                type="button"
                className="button button--quiet"
                data-testid="notices-dismiss-all"
                onClick={() => {
                  dismissAll();
                  setExpanded(false);
                  focusMainContent();
                }}
              >
                Dismiss all
              </button>
            </div>
          )}
          {shown.map((notice) => (
            <NoticeItem key={notice.id} notice={notice} />
          ))}
        </section>
      )}
    </>
  );
}

const TONE_WORDS: Record<NoticeTone, [string, string]> = { error: ['error', 'errors'], warning: ['warning', 'warnings'], info: ['note', 'notes'] };

/** "5 messages (3 errors, 2 notes)". */
function countWords(notices: readonly Notice[]): string {
  const parts = (['error', 'warning', 'info'] as const)
    .map((tone) => [tone, notices.filter((n) => n.tone === tone).length] as const)
    .filter(([, count]) => count > 0)
    .map(([tone, count]) => `${count} ${TONE_WORDS[tone][count === 1 ? 0 : 1]}`);
  return `${notices.length} messages (${parts.join(', ')})`;
}

/** Where focus goes when the element holding it disappears, so keyboard users are not dropped to the top. */
function focusMainContent(): void {
  document.getElementById('main-content')?.focus();
}

function NoticeItem({ notice }: { notice: Notice }) {
  const dismiss = useNotices((state) => state.dismiss);
  const close = () => {
    dismiss(notice.id);
    focusMainContent();
  };
  return (
    <div
      role={notice.tone === 'info' ? 'status' : 'alert'}
      className={`notice notice--${notice.tone}`}
      data-testid="notice"
      data-code={notice.code}
    >
      <div className="notice__text">
        <p className="notice__title">{notice.title}</p>
        <p className="notice__message">{notice.message}</p>
      </div>
      <div className="notice__buttons">
        {(notice.actions ?? []).map((action) => (
          <button
            key={action.label}
            type="button"
            className="button"
            data-testid="notice-action"
            onClick={() => {
              action.run();
              close();
            }}
          >
            {action.label}
          </button>
        ))}
        <button type="button" className="button button--quiet" aria-label={`Dismiss: ${notice.title}`} onClick={close}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
