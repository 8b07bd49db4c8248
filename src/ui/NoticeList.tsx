import { useNotices, type Notice } from '../store/notices';

/** Failures and other messages, newest last. Errors are `role="alert"` so they are announced. */
export function NoticeList() {
  const notices = useNotices((state) => state.notices);
  const dismissAll = useNotices((state) => state.dismissAll);
  if (notices.length === 0) return null;
  return (
    <section className="notices" aria-label="Messages" data-testid="notices">
      {notices.map((notice) => (
        <NoticeItem key={notice.id} notice={notice} />
      ))}
      {notices.length > 1 && (
        <button type="button" className="button button--quiet notices__clear" onClick={dismissAll}>
          Dismiss all messages
        </button>
      )}
    </section>
  );
}

function NoticeItem({ notice }: { notice: Notice }) {
  const dismiss = useNotices((state) => state.dismiss);
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
      <button
        type="button"
        className="button button--quiet notice__dismiss"
        aria-label={`Dismiss: ${notice.title}`}
        onClick={() => dismiss(notice.id)}
      >
        Dismiss
      </button>
    </div>
  );
}
