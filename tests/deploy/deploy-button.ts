import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The README's *Deploy with Vercel* link: the one markdown link to vercel.com/new/clone. */
export function deployButtonUrl(file = README): URL {
  const links = [...readFileSync(file, 'utf8').matchAll(/\]\((https:\/\/vercel\.com\/new\/clone\?[^)\s]+)\)/g)];
  if (links.length !== 1)
    throw new Error(`README.md should have exactly one Deploy with Vercel link, found ${links.length}`);
  return new URL(links[0]![1]!);
}

/** The variables the button asks for when a project is created (its comma-separated `env` parameter). */
export function deployButtonVariables(file = README): string[] {
  return (deployButtonUrl(file).searchParams.get('env') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/**
 * The value for each variable the button asks for, from `values`. A variable without one is an
 * error naming it: the rehearsal must not pass while ignoring something the button makes a user set.
 */
export function fillButtonVariables(
  names: readonly string[],
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const unknown = names.filter((name) => !Object.hasOwn(values, name));
  if (unknown.length > 0)
    throw new Error(
      `README's Deploy with Vercel button asks for ${unknown.join(', ')}, which tests/deploy/vercel-output.test.ts ` +
        'does not know how to fill: add a value for it there',
    );
  return Object.fromEntries(names.map((name) => [name, values[name]!]));
}
