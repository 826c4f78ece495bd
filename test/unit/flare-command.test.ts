import { describe, expect, it } from 'vitest';
import { FlareProgress, FlareResult } from '../../src/core/results.ts';
import { renderFlareProgress, renderFlareResult, renderFlareReview } from '../../src/core/slack/blocks/flare.ts';

/** Issue 19: the flare's messages name the command that built the archive, as the self-test's do. */
const ctx = { jobId: 'fl-1', cluster: 'c', requestedBy: 'U1', caseId: '123' };
const archive = { path: '/tmp/datadog-agent-x.zip', name: 'datadog-agent-x.zip', bytes: 2048, files: 14 };

describe('the flare command in the flare messages', () => {
  it('the progress schema carries it (and an older worker’s progress without it still parses)', () => {
    expect(FlareProgress.parse({ stage: 'building', command: 'agent flare' }).command).toBe('agent flare');
    expect(FlareProgress.parse({ stage: 'building' }).command).toBeUndefined();
  });

  it('building and review name it; without it (older workers) nothing is said', () => {
    const building = JSON.stringify(renderFlareProgress(ctx, { stage: 'building', pod: 'datadog-agent-x', command: 'agent flare' }).blocks);
    expect(building).toContain('with `agent flare`');
    const p = { stage: 'review' as const, node: 'node-2', pod: 'datadog-agent-x', archive, fileList: [], findings: [] };
    const review = JSON.stringify(renderFlareReview(ctx, { ...p, command: 'agent flare' }).blocks);
    expect(review).toContain('*Built by*\\n`agent flare`');
    expect(JSON.stringify(renderFlareReview(ctx, p).blocks)).not.toContain('Built by');
  });

  it('the final message names it, with the archive or alone; not for a flare that was never started', () => {
    const base = { kind: 'flare' as const, cluster: 'c', node: 'node-2', pod: 'p', agentOutput: 'ok' };
    const sent = FlareResult.parse({ ...base, stage: 'sent', reason: 'sent', archive, command: 'security-agent flare' });
    expect(JSON.stringify(renderFlareResult(ctx, sent).blocks)).toContain('from node-2, built by `security-agent flare`.');
    const failed = FlareResult.parse({ ...base, stage: 'failed', reason: 'build_failed', command: 'agent flare' });
    expect(JSON.stringify(renderFlareResult(ctx, failed).blocks)).toContain('Command: `agent flare` on node-2.');
    const busy = FlareResult.parse({ ...base, stage: 'failed', reason: 'busy', heldBy: { user: 'U2', job: 'j' }, command: 'agent flare' });
    expect(JSON.stringify(renderFlareResult(ctx, busy).blocks)).not.toContain('agent flare');
  });
});
