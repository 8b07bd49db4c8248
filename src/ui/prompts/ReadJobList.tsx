import { cancelReadJob } from '../../store/promptActions';
import { useReadJobs, type ReadJob } from '../../store/readJobs';
import { formatBytes, plural } from './format';

/** Reads in progress, each with a progress bar and Cancel. */
export function ReadJobList() {
  const jobs = useReadJobs((state) => state.jobs);
  if (jobs.length === 0) return null;
  return (
    <section className="card read-jobs" aria-labelledby="read-jobs-heading" data-testid="read-jobs">
      <h2 id="read-jobs-heading">Reading</h2>
      <ul className="plain-list">
        {jobs.map((job) => (
          <ReadJobRow key={job.id} job={job} />
        ))}
      </ul>
    </section>
  );
}

const PHASE_WORDS: Record<ReadJob['phase'], string> = {
  queued: 'Starting',
  decode: 'Decoding',
  parse: 'Parsing',
  dedupe: 'Removing duplicates',
  done: 'Finishing',
};

function ReadJobRow({ job }: { job: ReadJob }) {
  const percent = job.fraction === null ? null : Math.round(job.fraction * 100);
  const progressId = `read-job-${job.id}`;
  return (
    <li className="read-job" data-testid="read-job">
      <label htmlFor={progressId} className="read-job__label">
        {job.label} <span className="muted">({formatBytes(job.sizeBytes)})</span>
      </label>
      <progress id={progressId} max={100} value={percent ?? undefined} data-testid="read-job-progress" />
      <p className="read-job__status">
        {PHASE_WORDS[job.phase]}
        {percent !== null && job.phase === 'parse' ? ` ${percent}%` : ''}
        {job.recordsSoFar > 0 ? ` · ${plural(job.recordsSoFar, 'prompt')} so far` : ''}
      </p>
      <button
        type="button"
        className="button button--quiet"
        data-testid="read-job-cancel"
        aria-label={`Cancel reading ${job.label}`}
        onClick={() => cancelReadJob(job.id)}
      >
        Cancel
      </button>
    </li>
  );
}
