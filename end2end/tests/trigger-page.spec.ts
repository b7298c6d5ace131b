import { expectProvokedErrors } from './admin-support';
import { test, expect, waitForHydration } from './fixtures';
import {
  createPlugin,
  createTrigger,
  expectAccessible,
  loadState,
  openTrigger,
  PLANTED_TOKEN,
  startProvider,
  statusBadge,
  unique,
  waitForStatus,
  type Provider,
} from './trigger-support';

/**
 * One trigger's page and its dialogs, on triggers of this spec's own: an
 * aggregation group of three calls to a fake provider that refuses one (422),
 * answers one with bytes (200, application/octet-stream) and turns one away as
 * unauthorised (401).
 */

const BYTES = Buffer.from([0x00, 0xff, 0x10, 0x7f, ...Array.from({ length: 96 }, (_, i) => i)]);

let provider: Provider;
let plugin: string;
let group: string;
let ids: { bad: string; bin: string; auth: string };

test.beforeAll(async () => {
  const state = loadState();
  provider = await startProvider();
  plugin = await createPlugin(state, provider, 'Order Desk');
  group = unique('batch');
  const entity = { bad: unique('ORD-BAD'), bin: unique('ORD-BIN'), auth: unique('ORD-AUTH') };
  provider.answer(entity.bad, { status: 422, body: '{"error":"vat id missing"}' });
  provider.answer(entity.bin, { status: 200, body: BYTES, contentType: 'application/octet-stream' });
  provider.answer(entity.auth, { status: 401, body: '{"error":"token revoked"}' });
  ids = {
    bad: await createTrigger(state, { plugin, entityId: entity.bad, aggregationKey: group }),
    bin: await createTrigger(state, { plugin, entityId: entity.bin, aggregationKey: group }),
    auth: await createTrigger(state, { plugin, entityId: entity.auth, aggregationKey: group }),
  };
  await waitForStatus(state, ids.bad, 'erroneous');
  await waitForStatus(state, ids.bin, 'finished');
  await waitForStatus(state, ids.auth, 'erroneous');
});

test.afterAll(async () => {
  await provider?.close();
});

test('a failed trigger shows its summary, the attempt with its hint and decision, the steps and its group', async ({ page, state }) => {
  await openTrigger(page, ids.bad);

  const summary = page.getByTestId('trigger-summary');
  await expect(statusBadge(page)).toHaveText('Erroneous');
  await expect(summary).toContainText('Order Desk');
  const type = summary.getByText('Order sent', { exact: true });
  await expect(type).toHaveAttribute('title', 'order.sent');
  await expect(summary.getByTestId('entity-link')).toHaveAttribute('href', /^\/entities\/order\/ORD-BAD-/);
  await expect(summary).toContainText('Automation: e2e run');
  await expect(summary).toContainText(group);
  await expect(summary.getByTestId('last-error')).toHaveText('422 validation');

  const attempts = page.getByTestId('attempts').getByTestId('attempt');
  await expect(attempts).toHaveCount(1);
  const first = attempts.first();
  await expect(first).toContainText('#1');
  await expect(first).toContainText('HTTP 422');
  await expect(first).toContainText('automatic');
  await expect(first.getByTestId('hint')).toHaveText("the data does not match the provider's rules: read the response body");
  await expect(first.getByTestId('decision')).toContainText('Decision: stop: 422 validation');
  // The newest attempt shows its request (credentials redacted) and response at once.
  await expect(first).toContainText(`POST ${provider.url}/orders/`);
  await expect(first).toContainText('[redacted]');
  await expect(first.locator('pre.json').last()).toHaveText('{"error":"vat id missing"}');
  expect(await page.content()).not.toContain(PLANTED_TOKEN);

  const steps = page.getByTestId('log-steps').locator('li .step');
  await expect(steps.first()).toHaveText('queued');
  await expect(steps.last()).toHaveText('failed');
  expect(await steps.allTextContents()).toContain('request sent');

  // The group: all three, this one marked, each a link to its own page.
  const siblings = page.getByTestId('group-siblings').locator('li');
  await expect(siblings).toHaveCount(3);
  await expect(page.getByTestId('group-siblings').locator(`li[data-trigger-id="${ids.bad}"]`)).toContainText('(this trigger)');
  await expect(page.getByTestId('group-siblings').locator(`li[data-trigger-id="${ids.bin}"] .badge`)).toHaveText('Finished');

  // Following a sibling's link opens its page, where bytes show as hex, not garbage.
  await page.getByTestId('group-siblings').locator(`li[data-trigger-id="${ids.bin}"] a`).click();
  await expect(page).toHaveURL(new RegExp(`/triggers/${ids.bin}$`));
  await expect(statusBadge(page)).toHaveText('Finished');
  await expect(page.getByTestId('binary-body')).toHaveText(`binary, ${BYTES.length} bytes`);
  const hex = page.getByTestId('hex-preview');
  await expect(hex).toContainText('00 ff 10 7f 00 01 02');
  // 64 bytes: four lines of sixteen, then a sign that there is more.
  expect((await hex.textContent())!.trim().split('\n')).toHaveLength(5);
});

test("an auth failure's hint leads to the plugin's page to reconnect it", async ({ page }) => {
  await openTrigger(page, ids.auth);
  const hint = page.getByTestId('attempts').getByTestId('hint');
  await expect(hint).toContainText('credentials expired or revoked');
  await expect(hint.getByRole('link', { name: 'reconnect the plugin' })).toHaveAttribute('href', `/plugins/${plugin}`);
});

test('an unknown trigger says so instead of showing an empty page, and answers 404', async ({ page, browserErrors }) => {
  const missing = await page.goto('/triggers/0193d6a8-0000-7000-8000-000000000000');
  expect(missing?.status()).toBe(404);
  await expect(page.getByTestId('trigger-missing')).toContainText('No such trigger, or not visible to you');
  const malformed = await page.goto('/triggers/not-a-trigger-id');
  expect(malformed?.status()).toBe(404);
  await expect(page.getByTestId('trigger-missing')).toContainText('No such trigger, or not visible to you');
  // The two 404s were asked for; nothing else may have failed.
  expectProvokedErrors(browserErrors, /404.*\/triggers\/(0193d6a8-0000-7000-8000-000000000000|not-a-trigger-id)/);
});

test.describe('the payload dialog', () => {
  test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

  test('opens by keyboard, keeps focus inside, closes on Escape and gives focus back', async ({ page }) => {
    await openTrigger(page, ids.bad);
    const opener = page.getByTestId('open-payload');
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('payload-dialog');
    await expect(dialog).toBeVisible();

    const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('dialog[data-testid="payload-dialog"]'));
    expect(await focusInDialog(), 'focus moved into the dialog').toBe(true);
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      expect(await focusInDialog(), `focus stays inside after Tab ${i + 1}`).toBe(true);
    }
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await focusInDialog(), `focus stays inside after Shift+Tab ${i + 1}`).toBe(true);
    }

    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    await expect(opener).toBeFocused();
  });

  test('shows the payload as coloured JSON and copies it', async ({ page }) => {
    await openTrigger(page, ids.bad);
    await page.getByTestId('open-payload').click();
    const json = page.getByTestId('payload-dialog').getByTestId('payload-json');
    await expect(json).toContainText('"amount": 1200');
    await expect(json.locator('.j-key')).toHaveText(['"amount"', '"currency"', '"note"', '"paid"']);
    await expect(json.locator('.j-str')).toHaveText(['"EUR"']);
    await expect(json.locator('.j-num')).toHaveText(['1200']);
    await expect(json.locator('.j-lit')).toHaveText(['null', 'true']);
    // Keys and strings are told apart by colour, not only by their quotes.
    const colour = (sel: string) => json.locator(sel).first().evaluate((el) => getComputedStyle(el).color);
    expect(await colour('.j-key')).not.toBe(await colour('.j-str'));

    const copy = page.getByTestId('payload-dialog').getByTestId('copy');
    await copy.click();
    await expect(copy).toContainText('Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(JSON.parse(copied)).toEqual({ amount: 1200, currency: 'EUR', paid: true, note: null });

    // A click on the dimmed page behind it closes it too.
    await page.mouse.click(5, 5);
    await expect(page.getByTestId('payload-dialog')).toHaveCount(0);
  });
});

test('the logs dialog from the log keeps focus inside, closes on Escape and gives focus back', async ({ page }) => {
  await page.goto(`/?plugin=${plugin}`);
  const opener = page.locator(`tr[data-trigger-id="${ids.bad}"]`).getByTestId('open-logs');
  await waitForHydration(page);
  await opener.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('logs-dialog');
  await expect(dialog.getByTestId('attempts')).toBeVisible();
  await expect(dialog.getByTestId('hint')).toContainText("the provider's rules");
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
  }
  await expectAccessible(page, 'the logs dialog');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();
});

for (const role of ['viewer', 'operator'] as const) {
  test.describe(`accessibility, signed in as ${role}`, () => {
    test.use({ role });

    test('the trigger page and its dialogs have no serious or critical violations', async ({ page }) => {
      await openTrigger(page, ids.bad);
      await expect(page.getByTestId('attempts')).toBeVisible();
      await expect(page.getByTestId('group-siblings').locator('li')).toHaveCount(3);
      await expectAccessible(page, `the trigger page (${role})`);

      await page.getByTestId('open-payload').click();
      await expect(page.getByTestId('payload-json')).toBeVisible();
      await expectAccessible(page, `the payload dialog (${role})`);
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('payload-dialog')).toHaveCount(0);

      if (role === 'operator') {
        await page.getByTestId('rerun').click();
        await expect(page.getByTestId('rerun-reason')).toBeFocused();
        await expectAccessible(page, 'the re-run dialog');
        await page.keyboard.press('Escape');
        await expect(page.getByTestId('rerun-dialog')).toHaveCount(0);
        await expect(page.getByTestId('rerun')).toBeFocused();

        await page.getByTestId('rerun-group').click();
        await expect(page.getByTestId('rerun-group-dialog')).toBeVisible();
        await expectAccessible(page, 'the group re-run dialog');
        await page.getByRole('button', { name: 'Cancel' }).click();
        await expect(page.getByTestId('rerun-group-dialog')).toHaveCount(0);
      }
    });
  });
}

test('a trigger that joins the group while its page is open shows up in the group list without a reload', async ({
  page,
  state,
}) => {
  const key = unique('late-batch');
  const first = unique('ORD-FIRST');
  const late = unique('ORD-LATE');
  provider.answer(first, { status: 200, body: '{"id":"ext-first"}' });
  provider.answer(late, { status: 200, body: '{"id":"ext-late"}' });
  const firstId = await createTrigger(state, { plugin, entityId: first, aggregationKey: key });
  await waitForStatus(state, firstId, 'finished');

  await openTrigger(page, firstId);
  const siblings = page.getByTestId('group-siblings').locator('li');
  await expect(siblings).toHaveCount(1);
  // A mark a reload would wipe out.
  await page.evaluate(() => ((window as any).__stillHere = true));

  const lateId = await createTrigger(state, { plugin, entityId: late, aggregationKey: key });
  // The list is read again every 10 s while the page is in view.
  const joined = page.getByTestId('group-siblings').locator(`li[data-trigger-id="${lateId}"]`);
  await expect(joined).toContainText(late, { timeout: 25_000 });
  await expect(siblings).toHaveCount(2);
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
});
