// Signs in to a Loom team server in headless Chromium through a magic
// link read back from mailpit, then approves a device-flow code on the
// /device page. Driven by client/login_e2e_test.go:
//   LOOM_SERVER=http://127.0.0.1:P MAILPIT_API=http://127.0.0.1:Q EMAIL=a@b USER_CODE=ABCD-EFGH node approve.mjs
// Fails on any console error (a Content-Security-Policy violation shows as one).
import { chromium } from 'playwright-core';

const { LOOM_SERVER: server, MAILPIT_API: mailpit, EMAIL: email, USER_CODE: code } = process.env;
const fail = (msg) => { console.error(`approve.mjs: ${msg}`); process.exit(1); };
if (!server || !mailpit || !email || !code) fail('need LOOM_SERVER, MAILPIT_API, EMAIL and USER_CODE');

async function mailedLink() {
  for (let i = 0; i < 300; i++) {
    const list = await (await fetch(`${mailpit}/api/v1/search?query=${encodeURIComponent('to:' + email)}`)).json();
    if (list.messages?.length) {
      const msg = await (await fetch(`${mailpit}/api/v1/message/${list.messages[0].ID}`)).json();
      const m = msg.Text.match(/https?:\/\/\S+\/signin\/magic\?token=\S+/);
      if (!m) fail(`no link in the mail: ${msg.Text}`);
      return m[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`no mail to ${email} in 30 s`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  // The browser's own favicon request 404s: the server has no icon.
  page.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));

  // Not signed in: the approval page sends the browser to sign in first.
  await page.goto(`${server}/device?user_code=${encodeURIComponent(code)}`);
  if (!new URL(page.url()).pathname.startsWith('/signin')) fail(`not sent to sign in: ${page.url()}`);
  await page.fill('#email', email);
  await page.click('#send');
  await page.waitForSelector('#sent');

  // The mailed link shows a button; pressing it signs in and comes back.
  await page.goto(await mailedLink());
  await page.click('#continue');
  await page.waitForSelector('#code');
  const shown = (await page.textContent('#code')).trim();
  if (shown !== code) fail(`the page shows code ${shown}, want ${code}`);
  const who = (await page.textContent('#who')).trim();
  if (who !== email) fail(`signed in as ${who}, want ${email}`);
  await page.click('#approve');
  const done = (await page.textContent('#done')).trim();
  if (!done.startsWith('Approved')) fail(`after approving: ${done}`);

  // The account page lists this browser's session.
  await page.goto(`${server}/account`);
  const rows = await page.locator('#sessions tr').count();
  if (rows < 2) fail(`the account page lists ${rows - 1} sessions`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name.endsWith('loom_session'));
  if (!session || !session.httpOnly || session.sameSite !== 'Lax') fail(`session cookie ${JSON.stringify(session)}`);

  if (errors.length) fail(`console errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ approved: true, sessions: rows - 1 }));
} finally {
  await browser.close();
}
