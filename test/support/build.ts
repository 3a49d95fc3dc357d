import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  // npm puts node_modules/.bin of every directory above the checkout on PATH. In a checkout
  // under /tmp one of them is /tmp/node_modules/.bin: missing, in a directory anyone may write,
  // so anyone could plant a program there — and procreg's script security, as root, rightly
  // refuses every command resolved past it. The test processes (and the supervisors they
  // start) inherit PATH from here: keep only the directories that exist.
  process.env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir !== '' && existsSync(dir))
    .join(':');
  // The CLI tests run the real `bin/procreg.js`, which loads the compiled dist/...
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    stdio: 'inherit',
  });
  // And `procreg run` loads the bundle `npm run build` makes of what it runs (scripts/bundle-run.js).
  execFileSync(process.execPath, ['scripts/bundle-run.js'], { stdio: 'inherit' });
}
