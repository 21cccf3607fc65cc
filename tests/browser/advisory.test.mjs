// An advisory's journey, in a real browser (Debian's Chromium, driven by playwright-core),
// with the demo's team on a fresh Signalen report: the officer accepts the case and the
// member drafts an advisory from it, fills it in and offers the reporter a credit; the
// reviewer (of Signalen's technical steering group) comments on a line and approves; the
// reporter accepts the credit in their portal under a name of their own; the officer
// publishes, and the public page shows the advisory with the credit. Screenshots of each.
//
// VULNDESK_URL: the server to test (`tests/browser/run` starts one with --demo).
// VULNDESK_DEMO_OUTPUT: the file the server's standard output went to: the demo prints its
//   accounts and their passwords there.
// ARTIFACTS_DIR: where screenshots go (default target/artifacts/ of the repository).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, shot } from './chromium.mjs';

const BASE = process.env.VULNDESK_URL;

/** The demo account of `role` and its password, as the demo printed them. */
function account(role) {
  const printed = readFileSync(process.env.VULNDESK_DEMO_OUTPUT, 'utf8');
  const line = printed.split('\n').find((l) => l.trim().startsWith(`${role} `) && l.includes('password'));
  assert.ok(line, `the demo printed no ${role} account:\n${printed}`);
  const words = line.trim().split(/\s+/);
  return { email: words[1], password: words[words.length - 1] };
}

async function submit(page, button) {
  await Promise.all([page.waitForEvent('load'), button.press('Enter')]);
}

async function typeInto(page, label, text) {
  const control = page.getByLabel(label, { exact: true });
  await control.focus();
  await control.fill('');
  await page.keyboard.type(text);
}

async function where(page) {
  const text = (await page.locator('body').innerText()).replace(/\s+/g, ' ').slice(0, 600);
  return `at ${page.url()}: ${text}`;
}

/** A signed-in page of the demo account `role`, in a browser of its own. */
async function signedIn(role) {
  const browser = await launch();
  const page = await browser.context.newPage();
  const { email, password } = account(role);
  await page.goto(`${BASE}/signin`);
  await typeInto(page, 'E-mail address', email);
  await typeInto(page, 'Password', password);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(new URL(page.url()).pathname, '/dashboard', await where(page));
  return { ...browser, page };
}

test('a reviewer comments and approves, the reporter accepts a credit, the officer publishes', async () => {
  const filed = await fetch(`${BASE}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      product: 'signalen',
      title: 'Stored XSS in the incident map',
      description: 'A crafted incident description runs script in the browsers of staff who open the map.',
      reporter_contact: 'mailto:finder@example.org',
    }),
  });
  assert.equal(filed.status, 201);
  const { id: caseId, token } = await filed.json();

  const officer = await signedIn('officer');
  const member = await signedIn('member');
  const reviewer = await signedIn('reviewer');
  const reporter = await launch();
  try {
    // The officer accepts the case.
    let page = officer.page;
    await page.goto(`${BASE}/cases/${caseId}`);
    await submit(page, page.getByRole('button', { name: 'Accept as a vulnerability' }));
    assert.equal((await page.locator('#case-state').textContent()).trim(), 'accepted', await where(page));

    // The member drafts the advisory from the case and fills it in.
    page = member.page;
    await page.goto(`${BASE}/cases/${caseId}`);
    await submit(page, page.getByRole('button', { name: 'Draft an advisory from this case' }));
    const advisory = new URL(page.url()).pathname;
    assert.match(advisory, /^\/advisories\/\d+$/, await where(page));
    assert.match(await page.locator('#advisory-status').innerText(), /draft/);
    await typeInto(page, 'Abstract (first in every rendering)', 'A crafted incident description runs script in the browsers of staff who open the map.');
    await typeInto(page, 'Affected component', 'the incident map');
    await typeInto(
      page,
      'Affected products, one release line per line: vendor | product | line | first affected version | fixed version (blank while none)',
      'Signalen | signalen-frontend | 2.x | 2.0.0 | 2.4.1',
    );
    await typeInto(page, 'CWE numbers (79, 352)', '79');
    await typeInto(page, 'Description (Markdown)', 'The map view renders incident descriptions without escaping.\nUpgrade to 2.4.1.');
    await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
    assert.equal(new URL(page.url()).pathname, advisory, await where(page));
    await page.getByLabel('Kind', { exact: true }).selectOption('finder');
    await page.getByLabel('To', { exact: true }).selectOption({ label: `the reporter of case ${caseId}` });
    await submit(page, page.getByRole('button', { name: 'Offer the credit' }));
    assert.match(await page.locator('#credit-list').innerText(), /awaiting their answer/);

    // The reviewer comments on line 2 of the description, then approves this version.
    page = reviewer.page;
    await page.goto(`${BASE}${advisory}`);
    assert.match(await page.locator('#publication-blocked').innerText(), /review by 1 member of technical-steering-group/);
    await page.getByLabel('Part', { exact: true }).selectOption('description');
    await typeInto(page, 'Line', '2');
    await typeInto(page, 'Comment', 'Name the release notes too.');
    await submit(page, page.getByRole('button', { name: 'Comment on this line' }));
    assert.match(await page.locator('#description-2').innerText(), /Name the release notes too\./, await where(page));
    await submit(page, page.getByRole('button', { name: 'Approve this version' }));
    assert.match(await page.locator('#approvals').innerText(), /approved as technical-steering-group/);
    assert.ok(await page.locator('#publication-ready').isVisible(), await where(page));
    assert.equal(await page.getByRole('button', { name: 'Publish', exact: true }).count(), 0, 'a reviewer does not publish');
    await shot(page, 'advisory-reviewed');

    // The reporter accepts the credit in their portal, under a name of their own.
    page = await reporter.context.newPage();
    await page.goto(`${BASE}/r/${caseId}/${token}`);
    await page.getByRole('heading', { name: 'Credit in advisories' }).waitFor();
    await typeInto(page, 'The name to credit you under', 'A. Finder');
    await submit(page, page.getByRole('button', { name: 'Accept the credit' }));
    assert.match(await page.locator('#credits').innerText(), /You accepted to be credited as A\. Finder/, await where(page));
    await shot(page, 'portal-credit-accepted');

    // The officer publishes; the public page shows it with the credit.
    page = officer.page;
    await page.goto(`${BASE}${advisory}`);
    await submit(page, page.getByRole('button', { name: 'Publish', exact: true }));
    assert.match(await page.locator('#advisory-status').innerText(), /published/, await where(page));
    await shot(page, 'advisory-published');
    await Promise.all([page.waitForEvent('load'), page.locator('#public-link').click()]);
    await page.getByRole('heading', { name: 'Revision history' }).waitFor();
    const body = await page.locator('body').innerText();
    assert.match(body, /A\. Finder \(finder\)/, body);
    assert.match(body, /CWE-79/, body);
    await shot(page, 'advisory-public');
    for (const b of [officer, member, reviewer, reporter]) {
      assert.deepEqual(b.consoleErrors, [], 'no script errors or CSP violations');
    }
  } finally {
    for (const b of [officer, member, reviewer, reporter]) {
      await b.close();
    }
  }
});
