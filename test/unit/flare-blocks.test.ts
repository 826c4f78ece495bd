import { describe, expect, it } from 'vitest';
import { renderFlareProgress, renderFlareResult, renderFlareReview } from '../../src/core/slack/blocks/flare.ts';
import { pickableNodes, renderNodePicker } from '../../src/core/slack/blocks/flare-inputs.ts';

const ctx = { jobId: 'fl-1', cluster: 'c', requestedBy: 'U1', caseId: '123' };
const archive = { path: '/tmp/datadog-agent-x.zip', name: 'datadog-agent-x.zip', bytes: 2048, files: 14 };

describe('flare Block Kit', () => {
  it('review: facts, file list, findings masked, Send with a confirm and Cancel, metadata stage review', () => {
    const m = renderFlareReview(ctx, {
      stage: 'review',
      node: 'node-2',
      pod: 'datadog-agent-abcde',
      archive,
      fileList: [{ label: 'node-2/logs/ (3 files)', bytes: 1000 }],
      findings: [{ file: 'node-2/etc/datadog.yaml', line: 3, kind: 'Datadog API key', preview: 'api_key: 4f****99' }],
      expiresAt: '2026-11-27T09:00:00.000Z',
    });
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('node-2/logs/ (3 files)');
    expect(text).toContain('2.0 KiB, 14 files');
    expect(text).toContain('1 possible secret');
    const actions = m.blocks!.find((b) => b.type === 'actions') as unknown as { elements: Record<string, any>[] };
    expect(actions.elements.map((e) => e.action_id)).toEqual(['flare.send', 'flare.cancel']);
    expect(actions.elements[0]).toMatchObject({ style: 'primary', value: 'fl-1', confirm: { confirm: { text: 'Send' }, style: 'danger' } });
    expect(m.metadata).toEqual({
      event_type: 'cws_flare_result',
      event_payload: {
        jobId: 'fl-1',
        cluster: 'c',
        node: null,
        caseId: '123',
        stage: 'review',
        archive: { name: archive.name, bytes: 2048, files: 14 },
        findings: 1,
      },
    });
  });

  it('progress for a Docker flare takes the node from the worker', () => {
    const m = renderFlareProgress(ctx, { stage: 'review', node: 'build-host', pod: 'datadog-agent', archive, fileList: [], findings: [] });
    expect(m.metadata!.event_payload).toMatchObject({ node: 'build-host' });
  });

  it('results: sent, cancelled with or without removal, session lost', () => {
    const base = { kind: 'flare' as const, cluster: 'c', node: 'n', pod: 'p', archive, agentOutput: '' };
    expect(
      renderFlareResult(ctx, { ...base, stage: 'sent', reason: 'sent', caseId: '123', agentOutput: 'Your logs were successfully uploaded.' }).metadata!
        .event_payload,
    ).toMatchObject({ stage: 'sent', caseId: '123' });
    expect(JSON.stringify(renderFlareResult(ctx, { ...base, stage: 'cancelled', reason: 'cancelled', archiveRemoved: false }).blocks)).toContain('still at');
    expect(JSON.stringify(renderFlareResult(ctx, { ...base, stage: 'failed', reason: 'session_lost' }).blocks)).toContain('nothing was sent');
  });

  it('a cancelled flare quotes the agent before saying the archive was then removed', () => {
    const base = { kind: 'flare' as const, cluster: 'c', node: 'n', pod: 'p', archive };
    const text = JSON.stringify(
      renderFlareResult(ctx, {
        ...base,
        stage: 'cancelled',
        reason: 'cancelled',
        archiveRemoved: true,
        agentOutput: 'Aborting. (You can still use /tmp/x.zip)',
      }).blocks,
    );
    expect(text.indexOf('Aborting.')).toBeGreaterThan(-1);
    expect(text.indexOf('Then the bot removed the archive from the node.')).toBeGreaterThan(text.indexOf('Aborting.'));
  });

  it('node picker: only running agents, sorted, at most 100 options', () => {
    const req = { id: 'fr-1', cluster: 'c', userId: 'U1', channelId: 'C1' };
    const agents = Array.from({ length: 120 }, (_, i) => ({ node: `node-${i + 1}` })).concat([{ node: 'node-0', unavailable: 'not ready' } as never]);
    const m = renderNodePicker(req, agents);
    const select = (m.blocks![0] as unknown as { accessory: { options: { value: string; text: { text: string } }[] } }).accessory;
    expect(select.options).toHaveLength(100);
    // Values hold the node's index in the offered list (a node name may exceed the 150 a value holds).
    expect(select.options.slice(0, 2).map((o) => [o.text.text, o.value])).toEqual([
      ['node-1', 'fr-1|0'],
      ['node-2', 'fr-1|1'],
    ]);
    expect(pickableNodes(agents).slice(0, 2)).toEqual(['node-1', 'node-2']);
    expect(JSON.stringify(m.blocks)).toContain('Showing 100 of 120');
  });
});
