// Runs an organisation from its admin pages in headless Chromium: the owner
// signs in through their one-time link, invites a second person (who
// accepts in a second browser context, as another person would), changes
// their role, makes a team, makes an API key, uses it, revokes it, and reads
// all of it back in the audit log. Driven by server/pages_e2e_test.go:
//   LOOM_SERVER=http://127.0.0.1:P OWNER_LINK=… OWNER_EMAIL=… MEMBER_LINK=… MEMBER_EMAIL=… node admin.mjs
// SHOTS=DIR saves a screenshot of each page. Fails on any console error (a
// Content-Security-Policy violation shows as one).
import { chromium } from 'playwright-core';

const env = process.env;
const server = env.LOOM_SERVER;
const fail = (msg) => { console.error(`admin.mjs: ${msg}`); process.exit(1); };
for (const k of ['LOOM_SERVER', 'OWNER_LINK', 'OWNER_EMAIL', 'MEMBER_LINK', 'MEMBER_EMAIL']) {
  if (!env[k]) fail(`need ${k}`);
}
const member = env.MEMBER_EMAIL;
const errors = [];
// Pages this script opens expecting a refusal: Chromium logs their status
// as a console error, which is the point there and nowhere else.
const refused = new Set();

async function open(browser, who) {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The browser's own favicon request 404s: the server has no icon.
  page.on('console', (m) => {
    const url = m.location().url;
    if (m.type() !== 'error' || url.endsWith('/favicon.ico')) return;
    if (refused.has(url) && m.text().startsWith('Failed to load resource: the server responded with a status of 4')) return;
    errors.push(`${who}: ${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => errors.push(`${who}: ${e}`));
  return page;
}

let shot = 0;
async function snap(page, name) {
  if (env.SHOTS) await page.screenshot({ path: `${env.SHOTS}/${String(++shot).padStart(2, '0')}-${name}.png`, fullPage: true });
}

// signIn opens a one-time link and presses its button.
async function signIn(page, link, email) {
  await page.goto(link);
  await page.click('#continue');
  await page.waitForURL(`${server}/account`);
  const who = (await page.textContent('#who')).trim();
  if (who !== email) fail(`signed in as ${who}, want ${email}`);
}

// status opens path expecting it may be refused, and returns its status.
async function status(page, path) {
  refused.add(`${server}${path}`);
  return (await page.goto(`${server}${path}`)).status();
}

async function roleOf(page, email) {
  await page.goto(`${server}/orgs/acme/members`);
  return page.locator(`#members tr[data-email="${email}"] select`).inputValue();
}

async function setRole(page, email, role) {
  await page.goto(`${server}/orgs/acme/members`);
  const row = page.locator(`#members tr[data-email="${email}"]`);
  await row.locator('select').selectOption(role);
  await row.locator('button.set-role').click();
  await page.waitForURL(`${server}/orgs/acme/members`);
  const now = await roleOf(page, email);
  if (now !== role) fail(`${email} is ${now} after choosing ${role}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const owner = await open(browser, 'owner');
  await signIn(owner, env.OWNER_LINK, env.OWNER_EMAIL);
  if (await owner.locator('#orgs a[href="/orgs/acme/members"]').count() !== 1) fail('the account page does not link the admin pages');
  await snap(owner, 'account');

  // An invitation: its link is shown once.
  await owner.goto(`${server}/orgs/acme/invitations`);
  await owner.fill('#invite-email', member);
  await owner.selectOption('#invite-role', 'member');
  await owner.click('#invite');
  const link = await owner.inputValue('#invitation-link');
  if (!link.startsWith(`${server}/invitations/accept?token=loominv_`)) fail(`invitation link ${link}`);
  await snap(owner, 'invited');
  await owner.goto(`${server}/orgs/acme/invitations`);
  if (await owner.locator('#invitation-link').count() !== 0) fail('the invitation link is shown twice');
  if (await owner.locator(`#invitations tr[data-email="${member}"]`).count() !== 1) fail('the invitation is not listed');
  // Another, revoked.
  await owner.fill('#invite-email', 'nobody@example.test');
  await owner.click('#invite');
  await owner.goto(`${server}/orgs/acme/invitations`);
  await owner.click('#invitations tr[data-email="nobody@example.test"] button.revoke');
  await owner.waitForURL(`${server}/orgs/acme/invitations`);
  if (await owner.locator('#invitations tr[data-email="nobody@example.test"]').count() !== 0) fail('the revoked invitation is still listed');

  // The invitee, in a browser of their own: an outsider first, then a member.
  const guest = await open(browser, 'member');
  await signIn(guest, env.MEMBER_LINK, member);
  let code = await status(guest, '/orgs/acme/members');
  if (code !== 404) fail(`an outsider gets ${code} for the organisation, want 404`);
  await guest.goto(link);
  await guest.click('#accept');
  const joined = (await guest.textContent('#joined')).trim();
  if (!joined.includes('member') || !joined.includes('Acme')) fail(`after accepting: ${joined}`);
  await snap(guest, 'joined');
  code = await status(guest, '/orgs/acme/members');
  if (code !== 403) fail(`a member gets ${code} for the members page, want 403`);
  await guest.goto(link);
  refused.add(`${server}/invitations/accept`);
  await guest.click('#accept');
  if (!(await guest.textContent('#error')).includes('used')) fail('the invitation worked twice');

  // Roles: an admin reaches the admin pages, a member again does not.
  await setRole(owner, member, 'admin');
  code = await status(guest, '/orgs/acme/members');
  if (code !== 200) fail(`an admin gets ${code} for the members page`);
  await setRole(owner, member, 'member');
  code = await status(guest, '/orgs/acme/audit');
  if (code !== 403) fail(`a member again gets ${code} for the audit log, want 403`);
  await snap(owner, 'members');

  // A team, with the new member in it, then out of it.
  await owner.goto(`${server}/orgs/acme/teams`);
  await owner.fill('#team-slug', 'core');
  await owner.fill('#team-name', 'Core');
  await owner.click('#create-team');
  await owner.waitForURL(`${server}/orgs/acme/teams/core`);
  await owner.selectOption('#add-user', { label: member });
  await owner.click('#add-member');
  await owner.waitForSelector(`#team-members tr[data-email="${member}"]`);
  await snap(owner, 'team');
  await owner.click(`#team-members tr[data-email="${member}"] button.remove`);
  await owner.waitForURL(`${server}/orgs/acme/teams/core`);
  if (await owner.locator(`#team-members tr[data-email="${member}"]`).count() !== 0) fail('still in the team');
  await owner.goto(`${server}/orgs/acme/teams`);
  if (await owner.locator('#teams tr[data-slug="core"]').count() !== 1) fail('the team is not listed');

  // An API key: its secret shown once, used, its use listed, revoked.
  await owner.goto(`${server}/account`);
  const keys = owner.locator('section.keys[data-org="acme"]');
  await keys.locator('.key-name').fill('ci');
  await keys.locator('.scope-read').check();
  await keys.locator('.create-key').click();
  const secret = await owner.inputValue('#secret');
  if (!secret.startsWith('loom_')) fail(`the key's secret: ${secret}`);
  await snap(owner, 'key');
  const api = (s) => fetch(`${server}/api/v1/orgs/acme`, { headers: { Authorization: `Bearer ${s}` } });
  if ((await api(secret)).status !== 200) fail('the new key does not work');
  await owner.click('#back');
  const row = owner.locator('section.keys[data-org="acme"] tr[data-name="ci"]');
  if ((await row.locator('.last-used').textContent()).trim() === 'never') fail('the key\'s use is not listed');
  if ((await owner.content()).includes(secret)) fail('the account page shows the secret again');
  await row.locator('button.revoke').click();
  await owner.waitForURL(`${server}/account`);
  if (await row.getAttribute('data-state') !== 'revoked') fail('the key is not listed as revoked');
  const after = (await api(secret)).status;
  if (after !== 401) fail(`the revoked key gets ${after}, want 401`);
  await snap(owner, 'keys');

  // The audit log shows all of it.
  await owner.goto(`${server}/orgs/acme/audit`);
  const actions = new Set(await owner.locator('#audit tr[data-action]').evaluateAll((rows) => rows.map((r) => r.dataset.action)));
  const want = ['invitation.created', 'invitation.revoked', 'invitation.accepted', 'member.role_changed',
    'team.created', 'team.member_added', 'team.member_removed', 'apikey.created', 'apikey.revoked'];
  const missing = want.filter((a) => !actions.has(a));
  if (missing.length) fail(`the audit log lacks ${missing.join(', ')}`);
  if (!(await owner.textContent('#audit')).includes(member)) fail('the audit log does not name the member by email');
  await snap(owner, 'audit');

  if (errors.length) fail(`console errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ secret, audit: [...actions].sort() }));
} finally {
  await browser.close();
}
