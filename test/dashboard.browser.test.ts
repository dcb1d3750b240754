import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBalancer, type JobeBalancer } from '@jobe-balancer/core';
import { startJobeSim } from '@jobe-balancer/jobe-sim';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ASSETS, DASHBOARD_HTML } from '../packages/core/src/admin/dashboard.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'test-token';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Locally a missing Chromium skips the browser tests; CI installs it, so there it must fail instead.
const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI;
const POLL = { timeout: 5_000, interval: 100 };

type Sim = Awaited<ReturnType<typeof startJobeSim>>;

describe('dashboard page', () => {
  it('is self-contained: no external scripts, styles, fonts or images', () => {
    expect(DASHBOARD_HTML).toMatch(/^<!doctype html>/);
    expect(DASHBOARD_HTML).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(DASHBOARD_HTML).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    expect(DASHBOARD_HTML).not.toMatch(/api[\s_-]?key/i);
    for (const { body } of DASHBOARD_ASSETS) {
      expect(body).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(body).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    }
  });

  it('has no inline code, so that a strict Content-Security-Policy allows it', () => {
    expect(DASHBOARD_HTML).not.toMatch(/<style/i);
    expect(DASHBOARD_HTML).not.toMatch(/<script(?![^>]*\ssrc=)/i);
    expect(DASHBOARD_HTML).not.toMatch(/\son[a-z]+\s*=/i);
    expect(DASHBOARD_HTML).not.toMatch(/\sstyle\s*=/i);
    expect(DASHBOARD_HTML).not.toMatch(/javascript:/i);
  });
});

describe.skipIf(skipBrowser)('dashboard in Chromium against a live balancer', () => {
  let browser: Browser;
  let balancer: JobeBalancer;
  let gateway: http.Server;
  let mountUrl: string;
  const sims: Sim[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium`);
    for (const name of ['jobe1', 'jobe2', 'jobe3']) sims.push(await startJobeSim({ name }));
    balancer = createBalancer({
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      admin: { token: TOKEN },
      health: { intervalMs: 200, timeoutMs: 300 },
      logger: { info() {}, warn() {}, error() {} },
    });
    // The balancer mounted at /jobe, as a host framework would do it.
    gateway = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (url !== '/jobe' && !url.startsWith('/jobe/')) {
        res.writeHead(404).end();
        return;
      }
      void balancer.handle(req, res, { path: url.slice('/jobe'.length) || '/' });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    mountUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/jobe`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (gateway?.listening) {
      gateway.closeAllConnections();
      await new Promise((resolve) => gateway.close(resolve));
    }
    await balancer?.close(1_000);
    await Promise.all(sims.map((sim) => sim.close()));
  });

  async function openPage(hash: string, viewport = { width: 1366, height: 768 }) {
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(3_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    // CSP violations and failed loads of the page's own files are reported as console errors.
    // The one expected error: status answering 401 while the page has no token yet.
    page.on('console', (message) => {
      const unauthorized =
        message.location().url.endsWith('/_balancer/status') && message.text().includes('401');
      if (message.type() === 'error' && !unauthorized) errors.push(message.text());
    });
    await page.goto(`${mountUrl}/_balancer/${hash}`);
    return { page, errors, close: () => context.close() };
  }

  const text = (page: Page, testId: string) => page.getByTestId(testId).textContent({ timeout: 2_000 });
  // The stale/offline/token banner: a live region, hidden while it has nothing to say.
  const banner = (page: Page) => page.locator('#banner[role="status"][aria-live]');
  async function submitRun(sourcecode: string): Promise<void> {
    const response = await fetch(`${mountUrl}/index.php/restapi/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ run_spec: { language_id: 'python3', sourcecode } }),
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
  // Name, count and share, as the tile shows them.
  const outcomeTile = (page: Page, code: string) =>
    page.getByTestId(`outcome-${code}`).locator('div').allTextContents();
  const adminStateOf = (name: string) => balancer.status().backends.find((b) => b.name === name)?.adminState;

  it('shows live backend state, and drains a backend with the token from the URL fragment', async () => {
    const { page, errors, close } = await openPage(`#token=${TOKEN}`);
    try {
      // The token leaves the address bar (and so the history) but stays for this tab.
      expect(page.url()).not.toContain(TOKEN);
      expect(await page.evaluate<string | null>("sessionStorage.getItem('jobe-balancer.token')")).toBe(TOKEN);

      await expect.poll(() => page.locator('[data-testid^="backend-"]').count(), POLL).toBe(3);
      for (const name of ['jobe1', 'jobe2', 'jobe3']) {
        await expect.poll(() => text(page, `state-${name}`), POLL).toMatch(/healthy/);
      }

      // A few runs, so that the outcome totals have something to show.
      const sources = [
        'print(1)',
        'print(2)',
        'print(3)',
        '#sim cmpinfo SyntaxError',
        '#sim stderr Traceback',
      ];
      for (const sourcecode of sources) await submitRun(sourcecode);
      await expect.poll(() => outcomeTile(page, '15'), POLL).toEqual(['15 · success', '3', '60% of 5']);
      expect(await outcomeTile(page, '11')).toEqual(['11 · compile error', '1', '20% of 5']);
      expect(await outcomeTile(page, '12')).toEqual(['12 · runtime error', '1', '20% of 5']);
      expect(await outcomeTile(page, '21')).toEqual(['21 · overload', '0', '0% of 5']);

      await sims[1]!.fault('crash');
      await expect.poll(() => text(page, 'state-jobe2'), POLL).toMatch(/down/);
      expect(await text(page, 'state-jobe1')).toMatch(/healthy/);

      // The current state's button is the disabled one.
      expect(await page.getByTestId('ready-jobe1').isDisabled()).toBe(true);
      expect(await page.getByTestId('drain-jobe1').isEnabled()).toBe(true);
      await page.getByTestId('drain-jobe1').click();
      await expect.poll(() => text(page, 'state-jobe1'), POLL).toMatch(/draining/);
      expect(adminStateOf('jobe1')).toBe('drain');
      expect(await page.getByTestId('drain-jobe1').isDisabled()).toBe(true);
      expect(await page.getByTestId('ready-jobe1').isEnabled()).toBe(true);

      // Everything on the page but its script.
      const shown = `${await page.locator('header.top').textContent()} ${await page.locator('main').textContent()}`;
      expect(shown).not.toMatch(/api[\s_-]?key/i);
      expect(shown).toMatch(/15 · success/);
      // Laptop screens: nothing may scroll sideways.
      for (const width of [1366, 1920]) {
        await page.setViewportSize({ width, height: width === 1366 ? 768 : 1080 });
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        expect(overflow, `horizontal overflow at ${width}px`).toBeLessThanOrEqual(0);
      }

      if (process.env.SAVE_SCREENSHOT === '1') {
        await page.setViewportSize({ width: 1366, height: 768 });
        await mkdir(join(ROOT, 'docs'), { recursive: true });
        await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });
      }
      expect(errors).toEqual([]);
    } finally {
      await close();
      await sims[1]!.recover();
      balancer.setBackendState('jobe1', 'ready');
    }
  });

  it('is served with a strict Content-Security-Policy, its files cached for good, and cannot be framed', async () => {
    const page = await fetch(`${mountUrl}/_balancer/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    for (const asset of DASHBOARD_ASSETS) {
      expect(html).toContain(asset.name);
      const file = await fetch(`${mountUrl}/_balancer/${asset.name}`);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe(asset.contentType);
      expect(file.headers.get('cache-control')).toContain('immutable');
      expect(await file.text()).toBe(asset.body);
    }
    const unknown = await fetch(`${mountUrl}/_balancer/dashboard.000000000000.js`);
    expect(unknown.status).toBe(404);
    await unknown.arrayBuffer();
    // Without the slash, the page's relative URLs would miss `_balancer/`: redirected.
    const bare = await fetch(`${mountUrl}/_balancer`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(new URL(bare.headers.get('location') ?? '', `${mountUrl}/_balancer`).href).toBe(
      `${mountUrl}/_balancer/`,
    );

    // A page of another origin that frames the dashboard (clickjacking its drain buttons) gets nothing.
    const attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><iframe id="victim" src="${mountUrl}/_balancer/#token=${TOKEN}"></iframe>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      const refused: string[] = [];
      tab.on('console', (message) => refused.push(message.text()));
      await tab.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      await expect
        .poll(() => refused.join('\n'), POLL)
        .toMatch(/Refused to (display|frame)|Framing '[^']*' violates/);
      const framed = tab.frames().find((frame) => frame.url().includes('/_balancer/'));
      const cards = framed
        ? await framed
            .locator('header.top')
            .count()
            .catch(() => 0)
        : 0;
      expect(cards).toBe(0);
    } finally {
      await context.close();
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it('asks for the token when status is not public, and works once it is pasted', async () => {
    const { page, errors, close } = await openPage('');
    try {
      await expect.poll(() => banner(page).textContent(), POLL).toMatch(/needs the admin token/);
      expect(await page.locator('[data-testid^="backend-"]').count()).toBe(0);

      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Use', exact: true }).click();
      await expect.poll(() => page.locator('[data-testid^="backend-"]').count(), POLL).toBe(3);
      await expect.poll(() => banner(page).isVisible(), POLL).toBe(false);
      expect(await page.getByTestId('maint-jobe3').isVisible()).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('shows an offline banner with the age of its data when the balancer stops answering', async () => {
    const { page, close } = await openPage(`#token=${TOKEN}`);
    try {
      await expect.poll(() => page.locator('[data-testid^="backend-"]').count(), POLL).toBe(3);
      gateway.closeAllConnections();
      await new Promise((resolve) => gateway.close(resolve));
      await expect.poll(() => banner(page).textContent(), POLL).toMatch(/Offline.*stale data/);
      // The last known state stays visible.
      expect(await page.locator('[data-testid^="backend-"]').count()).toBe(3);
    } finally {
      await close();
    }
  });
});
