/**
 * Whether `npm start` runs the local sandbox. Its own module so that src/main.ts can decide
 * without loading the sandbox (and with it Bolt and the cluster clients) in other roles.
 */
export function sandboxRequested(env: Record<string, string | undefined>): boolean {
  if (env.SANDBOX === '0') return false;
  if (env.SANDBOX === '1') return true;
  return !['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN'].some((k) => Boolean(env[k]));
}
