import { useEffect } from 'react';
import { importAdapterFile } from '../store/engine';
import { useNavigation } from '../store/navigation';
import { useSettings } from '../store/settings';
import { AppHeader } from './AppHeader';
import { NoticeList } from './NoticeList';
import { PageDropTarget } from './PageDropTarget';
import { SectionTabs } from './SectionTabs';
import { useWorkerRestartNotices } from './useWorkerRestartNotices';
import './app.css';

/** Shell of the app: header, alerts, the section tabs, and a drop target covering the page. */
export function App() {
  // In a store so screens can switch tabs too (Generate -> Compare).
  const section = useNavigation((state) => state.section);
  const setSection = useNavigation((state) => state.goTo);
  const largeText = useSettings((state) => state.largeText);
  useWorkerRestartNotices();
  useEffect(() => {
    document.documentElement.classList.toggle('large-text', largeText);
  }, [largeText]);

  return (
    <>
      <a className="skip-link" href="#main-content">
        Skip to content
      </a>
      <AppHeader />
      <main id="main-content" tabIndex={-1}>
        <NoticeList />
        <SectionTabs selected={section} onSelect={setSection} />
      </main>
      <PageDropTarget
        onFilesDropped={() => setSection('prompts')}
        onZipFiles={section === 'adapters' ? (files) => void importZips(files) : null}
      />
    </>
  );
}

async function importZips(files: File[]): Promise<void> {
  for (const file of files) await importAdapterFile(file);
}
