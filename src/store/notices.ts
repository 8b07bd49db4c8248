/** Messages shown to the person as alerts: read failures, worker restarts. Dismissable. */
import { create } from 'zustand';

export type NoticeTone = 'error' | 'warning' | 'info';

export interface Notice {
  id: number;
  tone: NoticeTone;
  title: string;
  message: string;
  /** Stable code for tests and styling, e.g. `malformed-jsonl`, `worker-crashed`. */
  code: string;
  /** Buttons beside Dismiss, e.g. Undo, or Replace / Keep both; running one also dismisses the notice. */
  actions?: { label: string; run: () => void }[];
}

interface NoticesState {
  notices: Notice[];
  push: (notice: Omit<Notice, 'id'>) => number;
  dismiss: (id: number) => void;
  dismissAll: () => void;
  /** Last message for the polite live region (successful loads), read by screen readers only. */
  announcement: string;
  announce: (message: string) => void;
}

let nextNoticeId = 1;

/** Most notices kept; older ones drop off so a folder of bad files cannot flood the page. */
const MAX_NOTICES = 6;

export const useNotices = create<NoticesState>()((set) => ({
  notices: [],
  push: (notice) => {
    const id = nextNoticeId++;
    set((state) => ({ notices: [...state.notices, { ...notice, id }].slice(-MAX_NOTICES) }));
    return id;
  },
  dismiss: (id) => set((state) => ({ notices: state.notices.filter((n) => n.id !== id) })),
  dismissAll: () => set({ notices: [] }),
  announcement: '',
  announce: (message) => set({ announcement: message }),
}));
