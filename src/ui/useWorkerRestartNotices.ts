import { useEffect } from 'react';
import { useNotices } from '../store/notices';
import { getPromptsClient } from '../worker/promptsClient';

/** Tells the person when the prompt reader had to be restarted outside any read they started. */
export function useWorkerRestartNotices(): void {
  useEffect(
    () =>
      getPromptsClient().onRestart((reason, failedJobs) => {
        // Reads that were running already show their own failure.
        if (failedJobs > 0) return;
        useNotices.getState().push({ tone: 'warning', code: 'worker-crashed', title: 'Prompt reader restarted', message: reason });
      }),
    [],
  );
}
