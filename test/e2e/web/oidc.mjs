// Signs in to a Loom team server in headless Chromium through a real
// OpenID provider (test/e2e/oidc): the sign-in page's button, the
// provider's login and consent forms, back to Loom's account page.
// Driven by server/auth/oauth/browser_test.go:
//   LOOM_SERVER=http://127.0.0.1:P PROVIDER=op LOGIN=ada EMAIL=ada@example.test node oidc.mjs
// Fails on any console error on Loom's pages (a Content-Security-Policy
// violation shows as one).
import { chromium } from 'playwright-core';

const { LOOM_SERVER: server, PROVIDER: provider, LOGIN: login, EMAIL: email } = process.env;
const fail = (msg) => { console.error(`oidc.mjs: ${msg}`); process.exit(1); };
if (!server || !provider || !login || !email) fail('need LOOM_SERVER, PROVIDER, LOGIN and EMAIL');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => {
    const at = m.location().url;
    if (m.type() === 'error' && at.startsWith(server) && !at.endsWith('/favicon.ico')) errors.push(m.text());
  });

  // Not signed in: the account page sends the browser to sign in.
  await page.goto(`${server}/account`);
  if (new URL(page.url()).pathname !== '/signin') fail(`not sent to sign in: ${page.url()}`);
  await page.click(`#signin-${provider}`);

  // The provider's own pages: log in, then consent.
  await page.waitForSelector('input[name=login]');
  if (page.url().startsWith(server)) fail(`still on Loom: ${page.url()}`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(server) || /interaction/.test(u.pathname));
  if (!page.url().startsWith(server)) await page.click('button[type=submit]');

  // Back on Loom, signed in, at the page asked for.
  await page.waitForURL(`${server}/account`);
  const who = (await page.textContent('#who')).trim();
  if (who !== email) fail(`signed in as ${who}, want ${email}`);
  const cookies = await page.context().cookies(server);
  const session = cookies.find((c) => c.name.endsWith('loom_session'));
  if (!session || !session.httpOnly || session.sameSite !== 'Lax') fail(`session cookie ${JSON.stringify(session)}`);
  if (cookies.some((c) => c.name.endsWith('loom_oauth'))) fail('the sign-in cookie outlived the sign-in');

  if (errors.length) fail(`console errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ signedIn: who }));
} finally {
  await browser.close();
}
