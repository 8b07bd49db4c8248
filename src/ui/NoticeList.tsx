import { useNotices, type Notice } from '../store/notices';

/** Failures and other messages, newest last. Errors are `role="alert"` so they are announced. */
export function NoticeList() {
  const notices = useNotices((state) => state.notices);
  const dismissAll = useNotices((state) => state.dismissAll);
  const announcement = useNotices((state) => state.announcement);
  return (
    <>
      <p role="status" className="visually-hidden" data-testid="announcer">
        {announcement}
      </p>
      {notices.length > 0 && (
        <section className="notices" aria-label="Messages" data-testid="notices">
          {notices.map((notice) => (
            <NoticeItem key={notice.id} notice={notice} />
          ))}
          {notices.length > 1 && (
            <button
              type="button"
              className="button button--quiet notices__clear"
              onClick={() => {
                dismissAll();
                focusMainContent();
              }}
            >
              Dismiss all messages
            </button>
          )}
        </section>
      )}
    </>
  );
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
        {notice.action && (
          <button
            type="button"
            className="button"
            data-testid="notice-action"
            onClick={() => {
              notice.action?.run();
              close();
            }}
          >
            {notice.action.label}
          </button>
        )}
        <button type="button" className="button button--quiet" aria-label={`Dismiss: ${notice.title}`} onClick={close}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
