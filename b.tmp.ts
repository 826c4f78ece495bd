import { App } from '@slack/bolt';
import { SlackSigner } from './test/support/slack-signer.ts';
const secret='bench-signing-secret-0123456789';
const base = new App({ token: 'xoxb-bench', signingSecret: secret, tokenVerificationEnabled: false });
base.command('/cws', async ({ ack }) => ack());
const server = (await base.start(0)) as any;
const s = new SlackSigner({ secret, url: `http://127.0.0.1:${server.address().port}/slack/events` });
console.log(await s.command('help'));
await base.stop();
