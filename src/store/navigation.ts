/**
 * Which section tab is open, shared so a screen can send the person to another one (Generate ->
 * Compare with the new adapter chosen) without threading callbacks through the App.
 */
import { create } from 'zustand';

/** The section tabs, in order of the page (src/ui/SectionTabs.tsx draws them). */
export type SectionId = 'prompts' | 'generate' | 'compare' | 'evaluate' | 'adapters';

/** A request to open Compare with an adapter chosen; a new object each time, so the same id twice still applies. */
export interface CompareRequest {
  adapterId: string;
  /** Move keyboard focus to Compare's adapter select (when the tab is opened for it). */
  focus: boolean;
}

interface NavigationState {
  section: SectionId;
  compareRequest: CompareRequest | null;
  goTo: (section: SectionId) => void;
  /** Chooses this adapter on the Compare tab without opening it. */
  selectAdapter: (adapterId: string) => void;
  /** Opens the Compare tab with this adapter selected, keyboard focus on the select. */
  compareWith: (adapterId: string) => void;
}

export const useNavigation = create<NavigationState>()((set) => ({
  section: 'prompts',
  compareRequest: null,
  goTo: (section) => set({ section }),
  selectAdapter: (adapterId) => set({ compareRequest: { adapterId, focus: false } }),
  compareWith: (adapterId) => set({ section: 'compare', compareRequest: { adapterId, focus: true } }),
}));
