import type { WebClient } from '@slack/web-api';
import type { SlackExtras } from './commands/context.ts';

/** The few Slack calls beyond posting messages: profiles, modals, links, user group members (cached a minute). */
export class SlackDirectory implements SlackExtras {
  private readonly groups = new Map<string, { at: number; members: Set<string> }>();

  constructor(
    private readonly web: WebClient,
    private readonly now: () => number = Date.now,
  ) {}

  async userEmail(userId: string): Promise<string | undefined> {
    const r = (await this.web.users.info({ user: userId })) as { user?: { profile?: { email?: string } } };
    return r.user?.profile?.email;
  }

  async openView(triggerId: string, view: Record<string, unknown>): Promise<void> {
    await this.web.views.open({ trigger_id: triggerId, view: view as never });
  }

  async permalink(channel: string, ts: string): Promise<string | undefined> {
    const r = (await this.web.chat.getPermalink({ channel, message_ts: ts })) as { permalink?: string };
    return r.permalink;
  }

  async publishHome(userId: string, view: Record<string, unknown>): Promise<void> {
    await this.web.views.publish({ user_id: userId, view: view as never });
  }

  async groupsOf(userId: string, groupIds: string[]): Promise<Set<string>> {
    const mine = new Set<string>();
    for (const id of groupIds) if ((await this.members(id)).has(userId)) mine.add(id);
    return mine;
  }

  /** User group members (usergroups:read). */
  private async members(id: string): Promise<Set<string>> {
    const hit = this.groups.get(id);
    if (hit && this.now() - hit.at < 60_000) return hit.members;
    const r = (await this.web.usergroups.users.list({ usergroup: id })) as { users?: string[] };
    const members = new Set(r.users ?? []);
    this.groups.set(id, { at: this.now(), members });
    return members;
  }
}
