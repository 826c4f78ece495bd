/**
 * Socket Mode (`SLACK_APP_TOKEN` set): no public URL, Slack delivers over a WebSocket that
 * `apps.connections.open` hands out. The bot connects with the app-level token, takes a slash
 * command envelope, acknowledges it on the socket, and the job's result reaches the channel
 * through the Web API, as in HTTP mode.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { finalSelftest } from '../support/harness.ts';
import { type HostAgent, prepareHostAgent } from '../support/host-agent.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { SocketModeServer } from '../support/socket-mode-server.ts';

const BOT_TOKEN = 'xoxb-socket-test';
const APP_TOKEN = 'xapp-1-A0TEST-socket-test';

let redis: PrivateRedis;
let agent: HostAgent;
let sm: SocketModeServer;
let emu: SlackEmulator;
let bot: Bot;
let worker: WorkerProcess;

beforeAll(async () => {
  agent = await prepareHostAgent({ selftest: 'ok' });
  redis = await startRedis();
  sm = await SocketModeServer.start();
  emu = await SlackEmulator.start({ token: BOT_TOKEN, socketMode: { appToken: APP_TOKEN, url: () => sm.url } });
  const clusters = parseClustersFile(`clusters:\n  sm-host: { kind: host, binary: ${agent.binary} }\n`);
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  bot = createBot({ botToken: BOT_TOKEN, appToken: APP_TOKEN, slackApiUrl: emu.url, redisUrl: redis.url, clusters, logger, notifier: { minIntervalMs: 200 } });
  expect(await bot.start(0)).toBeUndefined(); // no HTTP port in Socket Mode
  worker = await startWorkers({ clusters, connection: blockingOptions(redis.url), logger });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await bot?.stop();
  await sm?.close();
  await emu?.close();
  await redis?.stop();
  agent?.cleanup();
});

const slashCommand = (text: string, channel: string) => ({
  token: 'unused-in-socket-mode',
  team_id: 'T0001',
  team_domain: 'test',
  channel_id: channel,
  channel_name: channel.toLowerCase(),
  user_id: 'U0SOCKET1',
  user_name: 'socket-user',
  command: '/cws',
  text,
  api_app_id: 'A0TEST',
  is_enterprise_install: 'false',
  response_url: emu.responseUrl(`sm-${channel}`),
  trigger_id: `1.${Date.now()}.socket`,
});

describe('Socket Mode', () => {
  it('opens the connection with the app-level token, not the bot token', async () => {
    const opens = emu.callsTo('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((c) => c.token === APP_TOKEN && c.status === 200)).toBe(true);
    expect(sm.connections).toBeGreaterThanOrEqual(1);
  });

  it('/cws selftest over the socket: acknowledged on the socket, result posted to the channel', async () => {
    const ack = await sm.deliver('slash_commands', slashCommand('selftest sm-host', 'CSOCKET01'));
    expect(ack.envelope_id).toBeTruthy();
    const final = await emu.waitFor((e) => finalSelftest(e, 'CSOCKET01'));
    expect(final.metadata?.event_payload).toMatchObject({ cluster: 'sm-host', total: 1, ok: 1 });
  });

  it('bad input is answered in the acknowledgement itself (ephemeral usage), nothing is queued', async () => {
    const ack = await sm.deliver('slash_commands', slashCommand('selftest', 'CSOCKET02'));
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(ack.payload?.text)).toContain('A cluster name is required.\nUsage: /cws selftest <cluster> [--node NODE]');
    expect(emu.messages('CSOCKET02').filter((m) => !m.ephemeral)).toHaveLength(0);
  });
});
