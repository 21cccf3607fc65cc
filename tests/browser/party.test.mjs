// An invited party's journey, in a real browser (Debian's Chromium, driven by
// playwright-core): a service provider the demo invited to a Signalen case opens its portal
// by the secret link from its invitation, reads the embargo's end in its own time zone (the
// browser's, here America/Los_Angeles) with the zone named, never sees the reporter or the
// report, accepts the invitation, sends its status and a message with a file. Controls are
// found by their labels and roles and pressed with the keyboard.
//
// VULNDESK_URL: the server to test (`tests/browser/run` starts one with --demo).
// VULNDESK_DEMO_OUTPUT: the file the server's standard output went to: the demo prints the
//   parties' portal links there.
// ARTIFACTS_DIR: where screenshots go (default target/artifacts/ of the repository).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, shot } from './chromium.mjs';

const BASE = process.env.VULNDESK_URL;

/** The demo's portal link of party `slug`. */
function portal(slug) {
  const printed = readFileSync(process.env.VULNDESK_DEMO_OUTPUT, 'utf8');
  const line = printed.split('\n').find((l) => l.trim().startsWith(`${slug} `) && l.includes('/p/'));
  assert.ok(line, `the demo printed no portal link for ${slug}:\n${printed}`);
  return line.trim().split(/\s+/).pop();
}

async function submit(page, button) {
  await Promise.all([page.waitForEvent('load'), button.press('Enter')]);
}

test('a party reads the embargo in its own time zone, never the reporter, and sends its status', async () => {
  const { context, consoleErrors, close } = await launch({
    timezoneId: 'America/Los_Angeles',
    locale: 'en-US',
  });
  try {
    const page = await context.newPage();
    const link = portal('gemeente-amsterdam');
    assert.ok(link.startsWith(BASE), `${link} is on ${BASE}`);
    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: /Coordination under embargo/ }).waitFor();

    // The end, stored in UTC, shown in the browser's zone with the zone named.
    const end = page.locator('time#embargo-end');
    await page.waitForFunction(() => document.querySelector('time#embargo-end')?.dataset.zone);
    const shown = await end.innerText();
    assert.match(shown, /Pacific (Standard|Daylight) Time/, shown);
    assert.match(shown, /America\/Los_Angeles/, shown);
    const utc = new Date(await end.getAttribute('datetime'));
    const local = utc.toLocaleString('en-US', { timeZone: 'America/Los_Angeles', hour: 'numeric', minute: '2-digit' });
    assert.ok(shown.includes(local.replace(' ', '\u202f')) || shown.includes(local), `${shown} shows ${local}`);

    // What the party sees of the case: the summary, never the report or the reporter.
    const body = await page.locator('body').innerText();
    assert.match(body, /stored cross-site scripting flaw/);
    for (const secret of ['@example', 'Report form', 'reporter']) {
      assert.ok(!body.includes(secret), `the portal shows ${JSON.stringify(secret)}`);
    }
    assert.match(body, /No answer yet/);
    await shot(page, 'party-portal');

    await submit(page, page.getByRole('button', { name: 'Accept the embargo' }));
    assert.match(await page.locator('#invitation-answer').innerText(), /You accepted the invitation/);

    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Not affected' });
    await page.getByLabel('Why not affected (only when not affected)').selectOption('vulnerable_code_not_in_execute_path');
    const statement = page.getByLabel('Your statement (what your users should know)');
    await statement.focus();
    await page.keyboard.type('Our instances render descriptions as text only.');
    await submit(page, page.getByRole('button', { name: 'Send the status' }));
    const status = await page.locator('#current-status').innerText();
    assert.match(status, /Not affected/, status);
    assert.match(status, /approves statements before they are published/, status);
    await shot(page, 'party-portal-status');

    // A message with a file, in the party's own thread: listed there to download.
    const message = page.getByLabel(/Write to .*team/);
    await message.focus();
    await page.keyboard.type('Our mitigation notes are attached.');
    await page.getByLabel(/^Files/).setInputFiles({
      name: 'mitigation.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('Descriptions are rendered as text.\n'),
    });
    await submit(page, page.getByRole('button', { name: 'Send', exact: true }));
    const file = page.getByRole('link', { name: 'mitigation.txt' });
    await file.waitFor();
    assert.match(await file.getAttribute('href'), /\/files\/[0-9a-f]{64}$/);
    await shot(page, 'party-portal-file');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await close();
  }
});
