import type { App } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import { homeView } from '../../commands/home.ts';

/** `app_home_opened` on the Home tab: the user's App Home, built now and published with `views.publish`. */
export function register(app: App, services: BotServices): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    try {
      const view = await homeView(services, event.user);
      await client.views.publish({ user_id: event.user, view: view as never });
    } catch (err) {
      services.logger.warn({ err, user: event.user }, 'could not publish the App Home');
    }
  });
}
