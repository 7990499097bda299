// Loads the admin status page in headless Chromium and checks what a
// person sees: the distributions, a chart drawn, an access log that
// cannot start, the config's warnings, and a config error written into
// the watched directory shown with its file:line:col.
// Usage: node check.mjs ADMIN_URL CONFIG_DIR (statuspage_test.go runs it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [adminURL, configDir] = process.argv.slice(2);
const wait = { timeout: 45000 };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // CI runs as root, where Chromium's sandbox cannot start; the machine's
  // network is closed, so no background connections.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('request', (r) => {
    if (!r.url().startsWith(adminURL) && !r.url().startsWith('data:')) problems.push('loads an outside asset: ' + r.url());
  });
  await page.goto(adminURL + '/');

  // The distributions, with their aliases.
  await page.waitForSelector('article.dist[data-id="site"]', wait);
  const dists = await page.$$eval('article.dist', (els) => els.map((e) => ({
    id: e.dataset.id, aliases: e.querySelector('.aliases').textContent })));
  for (const [id, alias] of [['site', 'www.site.test'], ['other', 'other.test']]) {
    const d = dists.find((x) => x.id === id);
    if (!d || !d.aliases.includes(alias)) throw new Error(`distribution ${id} with alias ${alias} not shown: ${JSON.stringify(dists)}`);
  }

  // A requests/s chart with a line through at least two samples, drawn
  // with a visible size.
  const line = 'article.dist[data-id="site"] figure.chart:first-child svg path.line';
  await page.waitForFunction((sel) => {
    const p = document.querySelector(sel);
    return p && (p.getAttribute('d').match(/L/g) || []).length >= 1;
  }, line, wait);
  // Measured in the page in one step: the page redraws its charts every
  // second, and a locator's boundingBox, two steps apart, gets null for a
  // line a redraw detached in between (seen under load).
  const box = await page.$eval(line, (p) => {
    const r = p.getBoundingClientRect();
    return p.isConnected && p.getClientRects().length ? { width: r.width, height: r.height } : null;
  });
  if (!box || box.width < 10) throw new Error('the chart line has no visible size: ' + JSON.stringify(box));
  const rate = await page.textContent('article.dist[data-id="site"] figure.chart:first-child .value');
  const version = await page.textContent('#version');

  // site's access log is written; other's could not start, and says why.
  const siteLog = await page.textContent('article.dist[data-id="site"] .log');
  if (!siteLog.includes('written to') || siteLog.includes('not applied')) throw new Error('site\'s access log is not shown as written: ' + siteLog);
  const otherLog = await page.textContent('article.dist[data-id="other"] .log .errors');
  if (!/not applied .*distribution other: access log directory/.test(otherLog)) throw new Error('other\'s access log error is not shown: ' + otherLog);

  // The served config's warning: main.cue embeds no schema.#Config.
  await page.waitForFunction(() => !document.getElementById('warnings').hidden, null, wait);
  const warned = await page.textContent('#warnings-list');
  if (!/main\.cue:1:1: warning: no file embeds schema\.#Config/.test(warned)) throw new Error('the config\'s warning is not shown: ' + warned);

  // A config error, injected the way a person would make one.
  writeFileSync(join(configDir, 'broken.cue'), 'package cdn\n\ndistributions: site: enabled: "yes"\n');
  await page.waitForFunction(() => !document.getElementById('rejected').hidden &&
    /broken\.cue:\d+:\d+/.test(document.getElementById('rejected-errors').textContent), null, wait);
  const shown = await page.textContent('#rejected-errors');
  const state = await page.textContent('#config-state');
  if (!state.includes('FAILING')) throw new Error('the config is not shown as failing: ' + state);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(JSON.stringify({ distributions: dists.map((d) => d.id), version, requestsPerSecond: rate, warning: warned.trim(), error: shown.trim(), accessLogError: otherLog.trim() }));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
