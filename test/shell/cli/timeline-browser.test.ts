// The timeline page in a real browser: Debian's chromium, driven by playwright-core (no
// browser is ever downloaded). `.ci/run` installs chromium when it is missing; without it
// these tests are skipped, saying why.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSimLog } from '../../../bench/sim-log.js';
import { useTmpDir } from '../../support/tmp.js';
import { procregAs as procreg } from '../config/cli-runner.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present)
  console.log(
    `timeline browser tests skipped: ${CHROMIUM} is not installed (.ci/run installs it: apt-get install chromium)`,
  );

/** A large simulated log for the load-time bound (1M events is measured by bench/debug.bench.ts). */
const LARGE_EVENTS = 200_000;
/** The bound a page of such a log must load within, ms (on the 2-core CI machine, under a parallel test run). */
const LARGE_LOAD_MS = 10_000;

const tmp = useTmpDir();
let ctx: BrowserContext;
let profile: string;

describe.skipIf(!present)('the timeline page in chromium', () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'procreg-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1400, height: 700 },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(file: string) {
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
    // Nothing may be fetched: every request but the page itself is a failure.
    page.on('request', (r) => {
      if (r.url() !== `file://${file}`) problems.push(`request: ${r.url()}`);
    });
    const t0 = Date.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    return { page, problems, loadMs: Date.now() - t0 };
  }

  it('shows the demo: lanes, bars by how they ended, reload markers, marks; hover and click show the events and the why', async () => {
    const file = join(tmp(), 'timeline.html');
    expect((await procreg(['timeline', 'examples/demo.events.jsonl', '-o', file, '--utc'])).code).toBe(0);
    const { page, problems } = await open(file);
    try {
      expect(
        await page
          .locator('g.lane')
          .evaluateAll((ls) =>
            ls.map((l) => `${l.getAttribute('data-kind')}:${l.getAttribute('data-lane')}`),
          ),
      ).toEqual(['service:clock', 'service:flaky', 'service:web', 'check:web_alive']);
      const kinds = await page
        .locator('rect.bar')
        .evaluateAll((bs) => bs.map((b) => b.getAttribute('data-kind')).sort());
      expect(kinds).toEqual([
        'check',
        'check',
        'crash',
        'crash',
        'crash',
        'crash',
        'crash',
        'procreg-stop',
        'procreg-stop',
      ]);
      expect(await page.locator('g.boundary.reload').getAttribute('data-gen')).toBe('2');
      expect(await page.locator('path.mark[data-kind=given-up]').count()).toBe(1);
      expect(await page.locator('path.mark[data-kind=check-failed]').count()).toBe(4);
      const bar = page.locator('rect.bar[data-kind=check]').first();
      await bar.hover();
      await expect.poll(() => page.locator('#tooltip').isHidden()).toBe(false);
      expect(await page.locator('#tooltip').textContent()).toMatch(/^web #1 {2}pid 8338 {2}gen 1\n/);
      await bar.click();
      const detail = (await page.locator('#detail-text').textContent()) ?? '';
      expect(detail).toContain('why did web #1 end, and what followed?');
      expect(detail).toContain(
        "root cause: web_alive's script failed with code 1: 2 times in a row (fall 2)",
      );
      // Zoom in: the bars get wider.
      const before = Number(await bar.getAttribute('width'));
      await page.locator('#zoom-in').click();
      await expect
        .poll(async () =>
          Number(await page.locator('rect.bar[data-kind=check]').first().getAttribute('width')),
        )
        .toBeGreaterThan(before * 1.5);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it(`loads the page of a ${LARGE_EVENTS / 1000}k-event log within ${LARGE_LOAD_MS / 1000} s`, async () => {
    const dir = tmp();
    const log = join(dir, 'events.jsonl');
    writeSimLog(log, LARGE_EVENTS);
    const file = join(dir, 'timeline.html');
    const r = await procreg(['timeline', log, '-o', file], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const { page, problems, loadMs } = await open(file);
    try {
      expect(loadMs).toBeLessThan(LARGE_LOAD_MS);
      expect(await page.locator('g.lane').count()).toBeGreaterThan(4);
      expect(await page.locator('rect.bar, rect.loop, path.mark, rect.aggregate').count()).toBeGreaterThan(
        100,
      );
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
