/**
 * The sandbox in a real browser: the same stack `npm start` runs without Slack credentials
 * (private redis-server, simulator with the demo fleet, Web API emulator, bot, worker, sandbox
 * server), driven through the page with Debian's chromium (playwright-core). Asserts on what
 * the page renders and, for the remediation, on the simulator's DaemonSet.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CLUSTER,
  SANDBOX_APPROVER,
  SANDBOX_CHANNEL,
  SANDBOX_INCIDENT_CHANNEL,
  SANDBOX_USER,
  type Sandbox,
  startSandbox,
} from '../../src/sandbox/start.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const NETWORK_ENV = 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED';
const CWS_ENV = 'DD_RUNTIME_SECURITY_CONFIG_ENABLED';

let sandbox: Sandbox;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

// As the Docker tests: on a machine without chromium the browser test is skipped with the reason
// printed; in CI (CI=true, where .ci/run installs chromium) it must run, and fails without it.
const runBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!runBrowser) console.warn(`[sandbox] browser test skipped: ${CHROMIUM} is missing (sudo apt-get install chromium; .ci/run installs it)`);

beforeAll(async () => {
  if (!runBrowser) return;
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install chromium); .ci/run installs it in CI`);
  sandbox = await startSandbox({
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    port: 0,
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(20_000);
  // Script errors and CSP violations land here; the page must have none.
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  await page.goto(sandbox.url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.stop();
});

const daemonSetEnv = () =>
  sandbox.sim.state.getDaemonSet('datadog', 'datadog-agent')!.spec!.template.spec!.containers.find((c: { name: string }) => c.name === 'system-probe')!.env ??
  [];

/** Types a slash command in the composer, as a user does, and waits until it was accepted. */
async function slash(command: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(command);
  await composer.press('Enter');
  // The page clears the composer once the sandbox accepted the command, or shows why not.
  const error = page.getByTestId('composer-error');
  await expect.poll(async () => ((await error.isVisible()) ? `error: ${await error.textContent()}` : composer.inputValue()), { timeout: 10_000 }).toBe('');
}

/** The message (article) holding `text`, once it is rendered. */
async function message(text: string | RegExp): Promise<Locator> {
  const m = page.locator('article.msg', { hasText: text }).last();
  await m.waitFor({ state: 'visible' });
  return m;
}

/**
 * What the page posts to /api/action for a click on `button`: the element by its position in the
 * message (and the type and ids it showed), nothing taken from anywhere else.
 */
async function expectPostsItsPosition(button: Locator, click: () => Promise<void>): Promise<Record<string, any>> {
  const shown = JSON.parse((await button.getAttribute('data-action')) ?? 'null') as Record<string, any>;
  expect(shown).toMatchObject({ type: 'button', position: { block: expect.any(Number) } });
  const request = page.waitForRequest((r) => r.url().endsWith('/api/action') && r.method() === 'POST');
  await click();
  const body = JSON.parse((await request).postData() ?? '{}') as Record<string, any>;
  expect(body.action).toEqual(shown);
  return shown;
}

/** The page acts as `user` from now on (its user switcher), and says so. */
async function actAs(user: { id: string; name: string }): Promise<void> {
  await page.getByTestId('user-switch').selectOption(user.id);
  await expect.poll(() => page.locator('#me').textContent()).toBe(`Signed in as ${user.name}`);
}

/** The App Home tab, once the bot published one holding `text` for the user the page acts as. */
async function home(text: string | RegExp): Promise<Locator> {
  await page.getByTestId('home-link').click();
  await page.getByRole('heading', { name: 'Home', exact: true }).waitFor();
  const view = page.getByTestId('home-view').filter({ hasText: text });
  await view.waitFor({ state: 'visible' });
  return view;
}

async function clickAndConfirm(button: Locator, confirmLabel: string): Promise<void> {
  await button.click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.waitFor({ state: 'visible' });
  const ok = dialog.getByRole('button', { name: confirmLabel, exact: true });
  await ok.click();
  await dialog.waitFor({ state: 'hidden' });
}

describe.runIf(runBrowser)('sandbox page (chromium)', () => {
  it('shows the sandbox channel and who you are', async () => {
    await page.getByRole('heading', { name: '# cws-sandbox' }).waitFor();
    expect(await page.locator('#me').textContent()).toBe('Signed in as you');
    expect(await page.locator('.banner').textContent()).toMatch(/simulated/);
  });

  it('/cws selftest demo: the final message names the failing node; Re-run failed re-checks it', async () => {
    await slash(`/cws selftest ${DEMO_CLUSTER}`);
    // The final result is the one with buttons; progress edits of the same message come before.
    const rerunFailed = page.getByRole('button', { name: 'Re-run failed (1)' });
    await rerunFailed.waitFor();
    const result = page.locator('article.msg', { has: rerunFailed });
    const text = (await result.textContent()) ?? '';
    expect(text).toContain('4/5 agents OK');
    expect(text).toMatch(/node-3\s*datadog-agent-[a-z0-9]{5}\s*— failed/);
    expect(text).toContain('failed to receive expected event');
    expect(await result.locator('.msg-edited').count()).toBe(1);

    await expectPostsItsPosition(rerunFailed, () => rerunFailed.click());
    const rerun = await message('0/1 agents OK');
    expect(await rerun.textContent()).toMatch(/node-3\s*datadog-agent-[a-z0-9]{5}\s*— failed/);
    expect(await page.locator('article.msg', { hasText: 'CWS self-test · demo' }).count()).toBe(2);
  }, 60_000);

  it('/cws netcheck demo: Disable network detections patches the DaemonSet; Revert restores it', async () => {
    expect(daemonSetEnv().some((e: { name: string }) => e.name === NETWORK_ENV)).toBe(false);
    await slash(`/cws netcheck ${DEMO_CLUSTER}`);
    const disable = page.getByRole('button', { name: 'Disable network detections', exact: true });
    await disable.waitFor();
    const report = page.locator('article.msg', { has: disable });
    expect(await report.textContent()).toMatch(/Broken/);
    expect(await report.textContent()).toMatch(/cilium 1\.9\.5/);
    expect(await report.textContent()).toContain('7.39.1');

    // The report offers several fixes in one actions block: the click names this button by its position.
    await expectPostsItsPosition(disable, () => clickAndConfirm(disable, 'Apply'));
    const applied = await message(/Disable network detections on demo by @you[\s\S]*Rollout complete/);
    expect(await applied.textContent()).toContain(`${NETWORK_ENV}: unset → false`);
    expect(await applied.getAttribute('class')).toContain('msg-reply');
    expect(daemonSetEnv()).toContainEqual({ name: NETWORK_ENV, value: 'false' });

    await clickAndConfirm(applied.getByRole('button', { name: 'Revert', exact: true }), 'Revert');
    const reverted = await message(/Revert on demo by @you[\s\S]*Rollout complete/);
    expect(await reverted.textContent()).toContain(`${NETWORK_ENV}: false → unset`);
    expect(daemonSetEnv().some((e: { name: string }) => e.name === NETWORK_ENV)).toBe(false);
    expect(daemonSetEnv()).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' });
  }, 60_000);

  it('two-person approval in the page: you ask for "Disable CWS"; the Homes list it; alex approves it; #cws-incident shows it all', async () => {
    expect(daemonSetEnv()).toContainEqual({ name: CWS_ENV, value: 'true' });
    // Both channels are in the sidebar: the sandbox's and the demo cluster's incident channel.
    await page.getByTestId(`channel-${SANDBOX_INCIDENT_CHANNEL.id}`).waitFor();
    const seen = new Set(await page.locator('article.msg').evaluateAll((els) => els.map((e) => e.getAttribute('data-ts'))));
    await slash(`/cws netcheck ${DEMO_CLUSTER}`);
    const disableCws = page.getByRole('button', { name: 'Disable CWS', exact: true });
    // The new report (the earlier one may still offer its own buttons).
    const report = page.locator('article.msg', { has: disableCws }).last();
    await expect.poll(async () => seen.has(await report.getAttribute('data-ts')), { timeout: 30_000 }).toBe(false);
    const before = sandbox.emu.calls.length;
    const since = (method: string) => sandbox.emu.calls.slice(before).filter((c) => c.method === method);
    await clickAndConfirm(report.getByRole('button', { name: 'Disable CWS', exact: true }), 'Apply');

    // `demo` has requireApproval: ['disable_cws']: a request with Approve and Reject, in the report's thread; nothing changed yet.
    const request = await message(/@you asks to run Disable CWS \(demo\)/);
    expect(await request.getAttribute('class')).toContain('msg-reply');
    expect(daemonSetEnv()).toContainEqual({ name: CWS_ENV, value: 'true' });
    // alex is named in demo's access.approve: their Home is republished with the request, before they open it.
    const published = (user: string) => JSON.stringify(sandbox.emu.homeViews.get(user)?.view ?? {});
    await expect.poll(() => published(SANDBOX_APPROVER.id)).toContain('Waiting for your approval');
    // One views.publish per person concerned (the requester, the named approvers), not one per approver list entry.
    await expect.poll(() => since('views.publish').length).toBe(2);
    expect(new Set(since('views.publish').map((c) => c.args.user_id))).toEqual(new Set([SANDBOX_USER.id, SANDBOX_APPROVER.id]));
    console.info(`[sandbox] opening a request: ${since('views.publish').length} views.publish, ${since('chat.getPermalink').length} chat.getPermalink`);

    // The requester cannot approve their own request: told privately, nothing runs.
    await clickAndConfirm(request.getByRole('button', { name: 'Approve', exact: true }), 'Approve');
    const refused = await message('You cannot approve your own request');
    expect(await refused.textContent()).toContain('Only visible to you');
    expect(daemonSetEnv()).toContainEqual({ name: CWS_ENV, value: 'true' });

    // Your Home lists it among your requests waiting for someone else.
    const mine = await home('Your requests, waiting for another approver');
    expect(await mine.textContent()).toMatch(/Disable CWS \(demo\), until/);
    expect(await mine.textContent()).not.toContain('Waiting for your approval');
    expect(sandbox.emu.homeViews.get(SANDBOX_USER.id)).toBeDefined();

    // As alex: the Home (published for alex, rendered for alex) lists it to approve, asked by you.
    await actAs(SANDBOX_APPROVER);
    const theirs = await home('Waiting for your approval');
    expect(await theirs.textContent()).toMatch(/Disable CWS \(demo\) — asked by @you, until/);
    expect(sandbox.emu.homeViews.get(SANDBOX_APPROVER.id)).toBeDefined();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-home-approver.png') });
    // alex does not see your private messages.
    await theirs.getByRole('link', { name: 'approve or reject' }).click();
    await page.getByRole('heading', { name: `# ${SANDBOX_CHANNEL.name}` }).waitFor();
    expect(await page.locator('article.msg', { hasText: 'You cannot approve your own request' }).count()).toBe(0);

    // The link led to the request: alex approves it (the click is signed as alex), the change runs as you asked it.
    const toApprove = await message(/@you asks to run Disable CWS \(demo\)/);
    const approve = toApprove.getByRole('button', { name: 'Approve', exact: true });
    const click = page.waitForRequest((r) => r.url().endsWith('/api/action') && r.method() === 'POST');
    await clickAndConfirm(approve, 'Approve');
    expect(JSON.parse((await click).postData() ?? '{}')).toMatchObject({ user: SANDBOX_APPROVER.id });
    await message(/Disable CWS \(demo\), asked by @you, was approved by @alex/);
    const applied = await message(/Disable CWS on demo by @you[\s\S]*Rollout complete/);
    expect(await applied.textContent()).toContain(`${CWS_ENV}: true → false`);
    expect(daemonSetEnv()).toContainEqual({ name: CWS_ENV, value: 'false' });

    // Closed: both Homes were republished without it (yours without anyone opening it).
    await expect.poll(() => published(SANDBOX_USER.id)).not.toContain('Your requests, waiting');
    expect(published(SANDBOX_APPROVER.id)).not.toContain('Waiting for your approval');
    // alex's Home, opened again, no longer lists it.
    const after = await home('No change waits for your approval');
    expect(await after.textContent()).not.toContain('Disable CWS (demo)');

    // The incident channel: the netcheck, the request and the change, each once, approved by alex.
    await page.getByTestId(`channel-${SANDBOX_INCIDENT_CHANNEL.id}`).click();
    await page.getByRole('heading', { name: `# ${SANDBOX_INCIDENT_CHANNEL.name}` }).waitFor();
    // Who approved is a mention (shown as @alex), never a raw user ID.
    const approvalMirror = await message(/Disable CWS \(demo\): approved/);
    expect(await approvalMirror.textContent()).toMatch(/by @you.*approved by @alex: Disable CWS \(demo\): approved/s);
    expect(await approvalMirror.textContent()).not.toMatch(/\bU[A-Z0-9]{7,}\b/);
    expect(await page.locator('article.msg', { hasText: /Disable CWS \(demo\): approved/ }).count()).toBe(1);
    // The change's one message, edited to its final state; channels are shown by name, as Slack does.
    await message(/Change on demo by @you in #cws-sandbox, approved by @alex: Disable CWS: applied/);
    // Each message names its job (short IDs, as footers show them), one message per job.
    const jobs = await page
      .locator('article.msg')
      .evaluateAll((els) => els.map((e) => /job\s*([a-z]{2}-[0-9a-f]{8}[0-9a-f-]*)/.exec(e.textContent ?? '')?.[1] ?? '').filter(Boolean));
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    expect(new Set(jobs).size).toBe(jobs.length);
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-incident.png') });

    // Back as you, for whatever comes next.
    await actAs(SANDBOX_USER);
  }, 90_000);

  it('the page had no script errors; a screenshot of it is kept', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-final.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
