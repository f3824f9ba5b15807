import { createRegistry } from '@/lib/registry';
import { conformanceInputTools } from './fixture-input-required';
import { conformancePrompts, conformanceResources } from './fixture-primitives';
import { conformanceTools } from './fixture-tools';

/** Everything the conformance fixture serves: its tools, the multi round-trip tools, resources and prompts. */
export const conformanceRegistry = createRegistry([
  ...conformanceTools,
  ...conformanceInputTools,
  ...conformanceResources,
  ...conformancePrompts,
]);
