import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('the NATS client is loaded lazily (issue 16)', () => {
  it('only src/shell/fleet/nats.ts loads @nats-io, by dynamic import; elsewhere only types', () => {
    const loading: string[] = [];
    for (const file of sources('src')) {
      const text = readFileSync(file, 'utf8');
      const statics = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'@nats-io\/[^']+'/gm)];
      const dynamics = [...text.matchAll(/import\('@nats-io\/[^']+'\)/g)];
      if (statics.length > 0) loading.push(`${file}: static`);
      if (dynamics.length > 0) loading.push(`${file}: dynamic`);
    }
    expect(loading).toEqual(['src/shell/fleet/nats.ts: dynamic']);
  });
});
