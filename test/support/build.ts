import { execFileSync } from 'node:child_process';

// The CLI tests run the real `bin/procreg.js`, which loads the compiled dist/.
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    stdio: 'inherit',
  });
}
