// The security team's acceptance journey, in a real browser (Debian's Chromium, driven by
// playwright-core): an officer signs in with a password and an authenticator code (enrolling
// one at the first sign-in), accepts and scores a case, declines one filed against an
// unsupported version, walks a Kamailio case through its clearance gate (a refusal shown
// with its reason, the approval, the merge and the release), and sees an overdue case
// highlighted on the dashboard. Controls are
// found by their labels and roles and pressed with the keyboard wherever the page allows.
//
// VULNDESK_URL: the server to test (`tests/browser/run` starts one).
// VULNDESK_OFFICER_EMAIL, VULNDESK_OFFICER_PASSWORD: an officer of SalesTim and Kamailio
//   without a second factor yet (`tests/browser/run` creates one).
// ARTIFACTS_DIR: where screenshots go (default target/artifacts/ of the repository).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launch, shot } from './chromium.mjs';

const BASE = process.env.VULNDESK_URL;
const EMAIL = process.env.VULNDESK_OFFICER_EMAIL;
const PASSWORD = process.env.VULNDESK_OFFICER_PASSWORD;

/** Types into the control a label names, after focusing it as a keyboard user would. */
async function typeInto(page, label, text) {
  const control = page.getByLabel(label, { exact: true });
  await control.focus();
  await page.keyboard.type(text);
}

/** Presses Enter on a submit button and waits for the page the form leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('load'), button.press('Enter')]);
}

/** Where the page is and what it says, for assertion messages. */
async function where(page) {
  const text = (await page.locator('body').innerText()).replace(/\s+/g, ' ').slice(0, 400);
  return `at ${page.url()}: ${text}`;
}

/** The RFC 4648 base32 alphabet's bytes, padding and spaces ignored. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const c of text.toUpperCase().replace(/[=\s]/g, '')) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(c)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits) an authenticator shows at `unixSeconds`. */
function totp(secretBase32, unixSeconds, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

const now = () => Date.now() / 1000;

/** A report through the public JSON API; its case id. */
async function fileReport(body) {
  const response = await fetch(`${BASE}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ reporter_contact: 'mailto:finder@example.org', ...body }),
  });
  const text = await response.text();
  assert.equal(response.status, 201, `POST /api/v1/reports answered ${response.status}: ${text}`);
  const answer = JSON.parse(text);
  assert.ok(Number.isInteger(answer.id), `a case id in ${text}`);
  assert.equal(typeof answer.token, 'string');
  return answer.id;
}

/** The due date `days` days before today, as an `<input type=date>` takes it. */
function daysAgo(days) {
  return new Date(Date.now() - days * 86400_000).toISOString().slice(0, 10);
}

/** The clock kinds the case page's deadline labels stand for. */
const CLOCK_KINDS = {
  'Acknowledge the report': 'acknowledge',
  'Release a fix': 'resolve',
  Disclose: 'disclosure',
  'Goal for the whole process: report to public disclosure': 'disclosure_target',
  'Reporter may publish': 'reporter_disclosure',
};

test('the TOTP helper gives the RFC 6238 test vectors', () => {
  // RFC 6238 appendix B, SHA-1: the secret is the ASCII "12345678901234567890".
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  assert.equal(totp(secret, 59, 8), '94287082');
  assert.equal(totp(secret, 1111111109, 8), '07081804');
  assert.equal(totp(secret, 20000000000, 8), '65353130');
  assert.equal(totp(secret, 59), '287082');
});

test('the security team signs in with a second factor and works cases', async (t) => {
  assert.ok(BASE, 'set VULNDESK_URL to the server under test');
  assert.ok(EMAIL && PASSWORD, 'set VULNDESK_OFFICER_EMAIL and VULNDESK_OFFICER_PASSWORD');

  // The cases, filed as an API client would.
  const caseA = await fileReport({
    organisation: 'kamailio',
    product: 'kamailio',
    title: 'Crash on a REGISTER with an empty Contact header',
    description: 'Summary: kamailio 5.8 crashes on a REGISTER whose Contact header is empty.\n\n'
      + 'Explanation: send `REGISTER sip:example.org SIP/2.0` with `Contact: ` and the worker dies.',
  });
  const caseB = await fileReport({
    organisation: 'salestim',
    product: 'salestim',
    title: 'Stored XSS in the template gallery',
    description: 'A template name with <script> runs in every viewer of the gallery.',
    fields: { version: '1.4.2' },
  });
  const caseC = await fileReport({
    organisation: 'salestim',
    product: 'salestim',
    title: 'Team owners can read other tenants\u2019 audit logs',
    description: 'Changing the tenant id in the audit log request shows another tenant\u2019s log.',
  });

  const { context, consoleErrors, close } = await launch();

  // Each step needs the ones before it; after a failure the rest are skipped, not failed.
  let broken = false;
  const step = (name, fn) => t.test(name, { skip: broken && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (e) {
      broken = true;
      throw e;
    }
  });

  try {
    const page = await context.newPage();

    await step('an officer enrols an authenticator at the first sign-in, then signs in with it', async () => {
      await page.goto(`${BASE}/dashboard`);
      assert.equal(page.url(), `${BASE}/signin?next=%2Fdashboard`, 'the dashboard asks to sign in first');
      await page.getByRole('heading', { name: 'Sign in to the security desk' }).waitFor();
      await typeInto(page, 'E-mail address', EMAIL);
      await typeInto(page, 'Password', PASSWORD);
      await submit(page, page.getByRole('button', { name: 'Sign in' }));

      // An officer must set up a second factor before anything else.
      let url = new URL(page.url());
      assert.equal(url.pathname, '/signin/enrol', await where(page));
      assert.equal(url.searchParams.get('next'), '/dashboard');
      await page.getByRole('heading', { name: 'Set up your authenticator' }).waitFor();
      const secret = (await page.locator('#totp-secret').textContent()).trim();
      assert.match(secret, /^[A-Z2-7]{26,}=*$/, 'a base32 secret of at least 128 bits');
      const address = (await page.locator('#totp-url').textContent()).trim();
      assert.ok(address.startsWith('otpauth://totp/'), address);
      assert.equal(new URL(address).searchParams.get('secret'), secret.replace(/=+$/, ''));
      await shot(page, 'team-enrol');
      await typeInto(page, 'Code from your authenticator app', totp(secret, now()));
      await submit(page, page.getByRole('button', { name: 'Turn on' }));

      await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
      const codes = await page.locator('#recovery-codes li').allTextContents();
      assert.ok(codes.length >= 5, `recovery codes are shown: ${codes.join(', ')}`);
      assert.equal(new Set(codes).size, codes.length, 'the recovery codes are all different');
      await submit(page, page.getByRole('link', { name: 'Continue' }));
      assert.equal(page.url(), `${BASE}/dashboard`, await where(page));
      await page.getByRole('heading', { name: 'Open cases' }).waitFor();

      // Signed out, the dashboard is out of reach again.
      await submit(page, page.locator('#signout'));
      assert.equal(new URL(page.url()).pathname, '/signin', await where(page));
      await page.goto(`${BASE}/dashboard`);
      assert.equal(page.url(), `${BASE}/signin?next=%2Fdashboard`, 'signed out for real');

      // The second sign-in asks for a code. The enrolment used this step's code and a code
      // counts once, so the authenticator's next code is typed (the server allows a step of
      // clock skew either way).
      await typeInto(page, 'E-mail address', EMAIL);
      await typeInto(page, 'Password', PASSWORD);
      await submit(page, page.getByRole('button', { name: 'Sign in' }));
      url = new URL(page.url());
      assert.equal(url.pathname, '/signin/second-factor', await where(page));
      assert.equal(url.searchParams.get('next'), '/dashboard');
      await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
      await typeInto(page, 'Code from your authenticator app', totp(secret, now() + 30));
      await submit(page, page.getByRole('button', { name: 'Verify' }));
      assert.equal(page.url(), `${BASE}/dashboard`, await where(page));
      await page.getByRole('heading', { name: 'Open cases' }).waitFor();
      await page.getByText('Signed in as Olivia Officer').waitFor();
      await shot(page, 'team-signed-in');
    });

    await step('a new Kamailio case is accepted and scored with CVSS 4.0', async () => {
      await page.goto(`${BASE}/cases/${caseA}`);
      await page.getByRole('heading', { name: `Case ${caseA}: Crash on a REGISTER with an empty Contact header` }).waitFor();
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'new');
      assert.equal((await page.locator('#case-severity').textContent()).trim(), 'not scored');

      const accept = page.getByRole('button', { name: 'Accept as a vulnerability' });
      assert.equal(await accept.getAttribute('id'), 'triage-accept');
      await submit(page, accept);
      assert.match(page.url(), new RegExp(`/cases/${caseA}#e-\\d+$`), await where(page));
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'accepted');

      // A wrong vector is refused with a message that names the metric at fault.
      const vector = page.getByLabel('CVSS vector (3.0, 3.1 or 4.0)');
      assert.equal(await vector.getAttribute('id'), 'cvss-vector');
      await vector.fill('');
      await typeInto(page, 'CVSS vector (3.0, 3.1 or 4.0)',
        'CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N');
      await submit(page, page.getByRole('button', { name: 'Score' }));
      const error = page.locator('#action-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert');
      const message = await error.textContent();
      assert.match(message, /\bAV\b/, `the error names the metric: ${message}`);
      assert.equal((await page.locator('#case-severity').textContent()).trim(), 'not scored');
      await shot(page, 'team-cvss-error');

      await vector.fill('');
      await typeInto(page, 'CVSS vector (3.0, 3.1 or 4.0)',
        'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N');
      const score = page.getByRole('button', { name: 'Score' });
      assert.equal(await score.getAttribute('id'), 'set-severity');
      await submit(page, score);
      assert.match(page.url(), new RegExp(`/cases/${caseA}#e-\\d+$`), await where(page));
      assert.equal(await page.locator('#action-error').count(), 0, 'no error after a good vector');
      assert.equal((await page.locator('#case-severity').textContent()).trim(), '9.3 Critical (CVSS 4.0)');
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'accepted');
      await shot(page, 'team-accepted-scored');
    });

    await step('the officer walks the Kamailio case through its clearance gate to the release', async () => {
      await page.goto(`${BASE}/cases/${caseA}`);
      // Accepting made the accepting officer the case's one officer (seed 002).
      assert.equal((await page.locator('#case-officer').textContent()).trim(), 'Olivia Officer');
      const gate = page.locator('#gate-0');
      assert.match(await gate.textContent(), /Before merge-fix, approval:security-team: needs approval by 1 member of security-team \(0 so far\)/);

      await typeInto(page, 'Commit, pull request or private fork branch', 'https://github.com/kamailio/kamailio/pull/4242');
      await submit(page, page.getByRole('button', { name: 'Propose a fix for review' }));
      await page.locator('.timeline').getByText('Fix proposed for review').waitFor();

      // The merge is refused with the condition it misses, and nothing is recorded.
      await submit(page, page.getByRole('button', { name: 'Record the fix\u2019s merge' }));
      const error = page.locator('#action-error');
      await error.waitFor();
      assert.match(await error.textContent(),
        /merge-fix is gated by this policy: it needs approval by 1 member of security-team \(0 so far\) first/);
      assert.equal(await page.locator('.timeline').getByText('Fix merged').count(), 0);
      await shot(page, 'team-gate-refused');

      // The officer is in the security team: clearing the patch is offered, and taken.
      await typeInto(page, 'Note with your approval of merge-fix (optional)', 'Patch read; fine to commit.');
      const approve = page.getByRole('button', { name: 'Approve merge-fix' });
      assert.equal(await approve.getAttribute('id'), 'approve-merge-fix');
      await submit(page, approve);
      assert.match(await page.locator('#gate-0').textContent(), /holds: approved by Olivia Officer/, await where(page));
      assert.equal(await page.getByRole('button', { name: 'Approve merge-fix' }).count(), 0, 'approved once');
      await shot(page, 'team-gate-approved');

      await submit(page, page.getByRole('button', { name: 'Record the fix\u2019s merge' }));
      assert.equal(await page.locator('#action-error').count(), 0, await where(page));
      await page.locator('.timeline').getByText('Fix merged').waitFor();
      // The security release is the team's to clear as well.
      await submit(page, page.getByRole('button', { name: 'Approve release' }));
      assert.match(await page.locator('#gate-1').textContent(), /Before release, approval:security-team: holds/, await where(page));
      await submit(page, page.getByRole('button', { name: 'Record the fix release' }));
      assert.equal(await page.locator('#action-error').count(), 0, await where(page));
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'fixed');
      assert.match(await page.locator('#stage-release').textContent(), /release: done by Olivia Officer/);
      await shot(page, 'team-gate-released');
    });

    await step('a SalesTim report against version 1.4.2 is declined as unsupported', async () => {
      await page.goto(`${BASE}/cases/${caseB}`);
      await page.getByRole('heading', { name: `Case ${caseB}: Stored XSS in the template gallery` }).waitFor();
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'new');
      const suggestion = (await page.locator('#support-suggestion').textContent()).trim();
      assert.match(suggestion, /1\.4\.2/, suggestion);
      assert.match(suggestion, /out of support/, suggestion);

      const reason = page.getByLabel('Reason', { exact: true });
      assert.equal(await reason.getAttribute('id'), 'decline-reason');
      assert.equal(await reason.inputValue(), 'unsupported-version', 'the suggested reason is preselected');
      const decline = page.getByRole('button', { name: 'Decline', exact: true });
      assert.equal(await decline.getAttribute('id'), 'triage-decline');
      await submit(page, decline);
      assert.match(page.url(), new RegExp(`/cases/${caseB}#e-\\d+$`), await where(page));
      assert.equal((await page.locator('#case-state').textContent()).trim(), 'declined');
      await page.locator('.timeline').getByText('Declined: unsupported version').waitFor();
      await shot(page, 'team-declined');
    });

    await step('a deadline moved into the past shows the case as overdue on the dashboard', async () => {
      await page.goto(`${BASE}/cases/${caseC}`);
      await page.getByRole('heading', { name: 'Deadlines' }).waitFor();
      // The deadlines the case has and has not met yet, by the labels the page gives them.
      const clocks = page.locator('section[aria-labelledby="dates-title"] ul.clocks > li');
      const open = [];
      for (const item of await clocks.all()) {
        const label = await item.locator('strong').first().textContent();
        const text = await item.textContent();
        if (CLOCK_KINDS[label] && !text.includes('(met ') && !text.includes('not yet dated')) {
          open.push(CLOCK_KINDS[label]);
        }
      }
      assert.ok(open.length > 0, `an unmet deadline is listed: ${await clocks.allTextContents()}`);
      const clock = open.includes('disclosure') ? 'disclosure' : open[0];
      const due = daysAgo(3);

      const select = page.getByLabel('Deadline', { exact: true });
      assert.equal(await select.getAttribute('id'), 'override-clock');
      await select.selectOption(clock);
      const date = page.getByLabel('New date');
      assert.equal(await date.getAttribute('id'), 'override-due');
      await date.fill(due);
      await typeInto(page, 'Reason (required)', 'The reporter published early; the date has passed.');
      await typeInto(
        page,
        'Note for the reporter (optional; all they read of this change besides its date)',
        'Your write-up is public, so the date has passed.',
      );
      const override = page.getByRole('button', { name: 'Override deadline' });
      assert.equal(await override.getAttribute('id'), 'override');
      await submit(page, override);
      assert.match(page.url(), new RegExp(`/cases/${caseC}#e-\\d+$`), await where(page));
      assert.equal(await page.locator('#action-error').count(), 0, 'the override is taken');
      await page.locator('.timeline').getByText(`Deadline ${clock} moved to ${due}`).waitFor();
      await page.locator('.timeline').getByText('The reporter was told: Your write-up is public').waitFor();

      await page.getByRole('link', { name: 'Dashboard' }).press('Enter');
      await page.waitForURL(`${BASE}/dashboard`);
      const row = page.locator(`#case-${caseC}`);
      await row.waitFor();
      assert.match(await row.getAttribute('class'), /(^|\s)overdue(\s|$)/);
      assert.match(await row.textContent(), /Overdue/);
      await shot(page, 'team-dashboard-overdue');
    });

    assert.deepEqual(consoleErrors, [], 'no script errors or CSP violations');
  } finally {
    await close();
  }
});
