// A reporter files a report through the form and follows it in the portal, in a real
// browser (Debian's Chromium, driven by playwright-core), using the keyboard and the
// fields' labels as a person with a screen reader or without a mouse would.
//
// VULNDESK_URL: the server to test (`tests/browser/run` starts one).
// ARTIFACTS_DIR: where screenshots go (default target/artifacts/ of the repository).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, shot } from './chromium.mjs';

const BASE = process.env.VULNDESK_URL;

/** Types into the control a label names, after focusing it as a keyboard user would. */
async function typeInto(page, label, text) {
  const control = page.getByLabel(label);
  await control.focus();
  await page.keyboard.type(text);
}

/** The id of the focused element. */
const focused = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

test('a reporter files a report by keyboard and follows it in the portal', async () => {
  assert.ok(BASE, 'set VULNDESK_URL to the server under test');
  const { context, consoleErrors, close } = await launch({ acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/o/sangoma/report?product=asterisk`);
    await page.getByRole('heading', { name: 'Report a security vulnerability to Sangoma' }).waitFor();

    // The keyboard reaches every control in order, and never the honeypot.
    await page.getByLabel('Title').focus();
    const order = [await focused(page)];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused(page));
    }
    assert.deepEqual(order, [
      'f-title',
      'f-description',
      'f-reporter-contact',
      'f-openpgp-key',
      'f-language',
      'f-fields-issue-type',
      'f-fields-version',
      'f-fields-special-configuration',
      'f-fields-steps',
      'f-fields-proof-of-concept',
      'f-fields-impact',
      'f-attachments',
      '',
    ]);
    assert.equal(
      await page.evaluate(() => document.activeElement.tagName),
      'BUTTON',
      'after the last field comes the submit button, not the honeypot',
    );

    // A first try without the required answers: the errors are listed and tied to fields.
    await typeInto(page, 'Title', 'chan_pjsip crashes on a re-INVITE without media');
    await page.getByRole('button', { name: 'Send report' }).press('Enter');
    await page.getByRole('alert').waitFor();
    const alert = page.getByRole('alert');
    await alert.getByRole('link', { name: 'Description must not be empty' }).waitFor();
    const description = page.getByLabel('Description');
    assert.equal(await description.getAttribute('aria-invalid'), 'true');
    assert.equal(
      await page.getByLabel('Title').inputValue(),
      'chan_pjsip crashes on a re-INVITE without media',
      'the typed title is kept',
    );
    await shot(page, 'form-errors');
    // The summary's link takes the keyboard to the field.
    await alert.getByRole('link', { name: 'Description must not be empty' }).press('Enter');
    assert.equal(await focused(page), 'f-description');

    await page.keyboard.type('Asterisk 20.9 segfaults when a re-INVITE carries an SDP without m= lines.');
    await typeInto(page, 'Your e-mail address', 'finder@example.org');
    await page.getByLabel('Language').selectOption({ label: 'English (en)' });
    await typeInto(page, 'Type of issue', 'NULL pointer dereference');
    await typeInto(page, 'Special configuration required to reproduce', 'An endpoint that allows anonymous calls.');
    await typeInto(page, 'Step-by-step instructions to reproduce', '1. Call the PBX.\n2. Send the re-INVITE.');
    await typeInto(page, 'Impact, including how an attacker might exploit the issue', 'Remote denial of service.');
    await page.getByLabel('Proof-of-concept or exploit code').setInputFiles({
      name: 'poc.py',
      mimeType: 'text/x-python',
      buffer: Buffer.from("print('re-INVITE')\n"),
    });
    await shot(page, 'form-filled');
    await page.getByRole('button', { name: 'Send report' }).press('Enter');

    await page.getByRole('heading', { name: 'Report received' }).waitFor();
    const link = await page.locator('#portal-link').getAttribute('href');
    const token = (await page.locator('#token').textContent()).trim();
    assert.match(link, /^\/r\/\d+\/[0-9a-f]{64}$/);
    assert.ok(link.endsWith(token), 'the token is the link\'s secret');
    await shot(page, 'report-received');

    // The secret link opens the case.
    await page.getByRole('link', { name: link }).press('Enter');
    await page.getByRole('heading', { name: 'chan_pjsip crashes on a re-INVITE without media' }).waitFor();
    await page.getByRole('heading', { name: 'Promised dates' }).waitFor();
    await page.getByText('A person on the team answers you').waitFor();
    await page.getByRole('link', { name: 'poc.py' }).waitFor();
    await shot(page, 'portal');

    // A reply with a file joins the conversation.
    await typeInto(page, 'Your reply', 'It also happens on 21.x; the trace is attached.');
    await page.getByLabel('Files').setInputFiles({
      name: 'trace.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('SIGSEGV in ast_sip_session_media\n'),
    });
    await page.getByRole('button', { name: 'Send reply' }).press('Enter');
    await page.waitForURL(/#e-\d+$/);
    const conversation = page.getByRole('list').filter({ hasText: 'the trace is attached' });
    await conversation.getByText('It also happens on 21.x; the trace is attached.').waitFor();
    const file = page.getByRole('link', { name: 'trace.txt' });
    await file.waitFor();
    await shot(page, 'portal-after-reply');

    // The file comes back as a download with its bytes, never as a page.
    const [download] = await Promise.all([page.waitForEvent('download'), file.press('Enter')]);
    assert.equal(download.suggestedFilename(), 'trace.txt');
    assert.equal(readFileSync(await download.path(), 'utf8'), 'SIGSEGV in ast_sip_session_media\n');

    assert.deepEqual(consoleErrors, [], 'no script errors or CSP violations');
  } finally {
    await close();
  }
});
