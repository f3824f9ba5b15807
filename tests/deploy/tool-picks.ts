import type { ToolDefinition } from '@/lib/registry';
import type { Access } from '@/lib/policy';

/**
 * A tool of the app's registry with exactly this policy that the rehearsal can call without
 * knowing it: it takes no arguments and never asks for input. Chosen by policy, never by name,
 * because a template owner renames and removes tools.
 */
export function toolWithPolicy(tools: readonly ToolDefinition[], access: Extract<Access, string>): ToolDefinition {
  const tool = tools.find((t) => t.access === access && t.ask === undefined && t.input.safeParse({}).success);
  if (!tool)
    throw new Error(
      `tools/index.ts's registry has no tool with access '${access}' that takes no arguments and asks for no input; ` +
        `the deployment rehearsal calls one (add one, e.g. like tools/${access === 'public' ? 'ping' : 'whoami'}.ts)`,
    );
  return tool;
}
