import { describe, expect, it } from 'vitest';
import { authorise } from '../../src/core/access.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { ConfigError, parseEnv } from '../../src/config/env.ts';

const base = { SLACK_BOT_TOKEN: 'xoxb-1-2', SLACK_SIGNING_SECRET: 'abcdefabcdef' };

describe('parseEnv', () => {
  it('applies defaults', () => {
    expect(parseEnv(base, 'bot')).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', CWS_CONFIG: 'cws.yaml', PORT: 3000 });
  });
  it.each([
    [{ ...base, PORT: 'http' }, /^PORT: /],
    [{ ...base, REDIS_URL: 'localhost:6379' }, /^REDIS_URL: must be a redis:\/\//],
    [{ ...base, SLACK_BOT_TOKEN: 'not-a-token' }, /^SLACK_BOT_TOKEN: must be a bot token/],
    [{ ...base, SLACK_APP_TOKEN: 'xoxb-wrong' }, /^SLACK_APP_TOKEN: /],
    [{ ...base, SLACK_API_URL: 'nope' }, /^SLACK_API_URL: /],
    [{ SLACK_SIGNING_SECRET: 'abcdefabcdef' }, /^SLACK_BOT_TOKEN: is required/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, /^SLACK_SIGNING_SECRET: is required/],
  ])('rejects %j with one line naming the variable', (env, re) => {
    expect(() => parseEnv(env, 'bot')).toThrow(ConfigError);
    expect(() => parseEnv(env, 'bot')).toThrow(re);
  });
  it('never puts the bad value in the message', () => {
    try {
      parseEnv({ ...base, SLACK_BOT_TOKEN: 'supersecretvalue' }, 'bot');
    } catch (e) {
      expect((e as Error).message).not.toContain('supersecretvalue');
    }
  });
  it('workers need no Slack token', () => {
    expect(parseEnv({ WORKER_CLUSTERS: 'a, b' }, 'worker').WORKER_CLUSTERS).toEqual(['a', 'b']);
  });
});

describe('clusters file', () => {
  const yaml = `
clusters:
  cluster-a:
    kind: kubernetes
    context: prod-a
    access: { run: [U0123ABCD], remediate: [U0999ZZZZ] }
  build-host:
    kind: docker
    socket: /var/run/docker.sock
  lab:
    kind: host
    sudo: true
    access: { run: [] }
`;
  it('parses with defaults', () => {
    const c = parseClustersFile(yaml);
    expect(c.clusters['cluster-a']).toMatchObject({ namespace: 'datadog', daemonSet: 'datadog-agent', selector: 'app.kubernetes.io/component=agent' });
    expect(c.clusters['build-host']).toMatchObject({ container: 'datadog-agent', selftest: { timeoutMs: 60000 } });
    expect(c.clusters['build-host']!.selftest.binary).toBeUndefined(); // absent: decided per agent from its layout
    expect(c.clusters.lab).toMatchObject({ binary: '/opt/datadog-agent/embedded/bin/security-agent', sudo: true });
  });
  it.each([
    ['clusters: { Bad: { kind: docker } }', /clusters\.Bad: .*cluster names/],
    ['clusters: { a: { kind: vm } }', /clusters\.a\.kind/],
    ['clusters: { a: { kind: docker, contianer: x } }', /contianer/],
    ['clusters: { a: { kind: host, binary: relative } }', /absolute path/],
    ['clusters: { a: { kind: docker, access: { run: [alice] } } }', /Slack user ID/],
    ['clusters: {}', /at least one cluster/],
    ['clusters: [', /not valid YAML/],
  ])('rejects %j clearly', (text, re) => {
    expect(() => parseClustersFile(text)).toThrow(re);
  });
});

describe('authorise', () => {
  const c = parseClustersFile(`
clusters:
  open: { kind: docker }
  closed: { kind: docker, access: { run: [] } }
  listed: { kind: docker, access: { run: [U1AAA], remediate: [U2BBB] } }
`).clusters;
  const cl = (name: string) => ({ name, config: c[name]! });
  it('absent list = everyone', () => expect(authorise(cl('open'), 'U9ZZZ', 'run')).toEqual({ allowed: true }));
  it('a user group in the list admits its members (membership resolved by the caller)', () => {
    const g = parseClustersFile('clusters:\n  g: { kind: docker, access: { run: [S0TEAM01] } }\n').clusters.g!;
    expect(authorise({ name: 'g', config: g }, 'U1AAA', 'run').allowed).toBe(false);
    expect(authorise({ name: 'g', config: g }, 'U1AAA', 'run', new Set(['S0TEAM01'])).allowed).toBe(true);
  });
  it('empty list = nobody', () => expect(authorise(cl('closed'), 'U1AAA', 'run')).toMatchObject({ allowed: false, reason: /nobody is allowed/ }));
  it('listed users only; remediators may also run', () => {
    expect(authorise(cl('listed'), 'U1AAA', 'run').allowed).toBe(true);
    expect(authorise(cl('listed'), 'U2BBB', 'run').allowed).toBe(true);
    expect(authorise(cl('listed'), 'U3CCC', 'run')).toMatchObject({ allowed: false, reason: /you are not allowed.*access\.run.*U3CCC/ });
    expect(authorise(cl('listed'), 'U1AAA', 'remediate').allowed).toBe(false);
  });
});

describe('clusterNamed', () => {
  it('finds configured clusters only: inherited names are not clusters', async () => {
    const { parseClustersFile, clusterNamed } = await import('../../src/config/clusters.ts');
    const file = parseClustersFile('clusters:\n  a: { kind: host }\n');
    expect(clusterNamed(file, 'a')).toMatchObject({ kind: 'host' });
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) expect(clusterNamed(file, name)).toBeUndefined();
  });
});
