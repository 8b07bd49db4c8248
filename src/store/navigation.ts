/**
 * Which section tab is open, shared so a screen can send the person to another one (Generate ->
 * Compare with the new adapter chosen) without threading callbacks through the App.
 */
import { create } from 'zustand';
import type { SectionId } from '../ui/SectionTabs';

/** A request to open Compare with an adapter chosen; a new object each time, so the same id twice still applies. */
export interface CompareRequest {
  adapterId: string;
}

interface NavigationState {
  section: SectionId;
  compareRequest: CompareRequest | null;
  goTo: (section: SectionId) => void;
  /** Chooses this adapter on the Compare tab without opening it. */
  selectAdapter: (adapterId: string) => void;
  /** Opens the Compare tab with this adapter selected. */
  compareWith: (adapterId: string) => void;
}

export const useNavigation = create<NavigationState>()((set) => ({
  section: 'prompts',
  compareRequest: null,
  goTo: (section) => set({ section }),
  selectAdapter: (adapterId) => set({ compareRequest: { adapterId } }),
  compareWith: (adapterId) => set({ section: 'compare', compareRequest: { adapterId } }),
}));
