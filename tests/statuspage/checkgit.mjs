// Loads the admin status page of a node serving a git branch whose last
// commit was rejected, and checks that the rejection is shown once, in
// the git section, at its path in the repository: not also in the config
// section at the checkout's path, which names the good commit's file once
// the node rolled back (as `openfront status` and the log do).
// Usage: node checkgit.mjs ADMIN_URL (statuspage_test.go runs it).
import { chromium } from 'playwright-core';

const [adminURL] = process.argv.slice(2);
const wait = { timeout: 45000 };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  await page.goto(adminURL + '/');
  await page.waitForFunction(() => !document.getElementById('git-rejected').hidden &&
    /cdn\.cue:\d+:\d+/.test(document.getElementById('git-rejected-errors').textContent), null, wait);
  const shown = await page.textContent('#git-rejected-errors');
  if (!/^\s*cdn\.cue:/.test(shown)) throw new Error('the rejected commit\'s error is not at its path in the repository: ' + shown);
  const also = await page.$eval('#rejected', (e) => e.hidden ? '' : e.textContent);
  if (also) throw new Error('the rejection is shown twice, the second time at the checkout\'s path: ' + also.trim());
  console.log(JSON.stringify({ rejected: shown.trim() }));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
