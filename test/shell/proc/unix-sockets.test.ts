import { readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { holdsSocket, listeningInode, socketHolders } from '../../../src/shell/proc/unix-sockets.js';
import { useTmpDir } from '../../support/tmp.js';

const tmp = useTmpDir();
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(path: string): Promise<Server> {
  const s = createServer();
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(path, resolve));
  return s;
}

describe('unix sockets in /proc', () => {
  it('finds the listening socket of an abstract name, and which processes hold it', async () => {
    // 107 bytes: the whole of sun_path, as procreg's lock names (Node pads shorter ones with NULs).
    const name = `procreg-test/${process.pid}/${Date.now()}/`.padEnd(107, '_');
    expect(listeningInode(name)).toBeNull();
    await listen(`\0${name}`);
    const inode = listeningInode(name) as number;
    expect(inode).toEqual(expect.any(Number));
    const mine = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(join('/proc/self/fd', fd));
      } catch {
        return '';
      }
    });
    expect(mine).toContain(`socket:[${inode}]`);
    expect(holdsSocket(process.pid, inode)).toBe(true);
    expect(holdsSocket(1, inode)).toBe(false);
    expect(socketHolders(inode)).toEqual([process.pid]);
    expect(listeningInode(name.slice(0, -1))).toBeNull(); // a prefix is another name
    expect(listeningInode(`${name.slice(0, -1)}-`)).toBeNull();
  });

  it('does not take a socket file for an abstract name', async () => {
    const path = join(tmp(), 'x.sock');
    await listen(path);
    expect(listeningInode(path)).toBeNull();
    expect(listeningInode(path.slice(1))).toBeNull();
  });
});
