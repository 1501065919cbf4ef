import type { Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import type { EventStreamService } from '../event-stream.ts';

/**
 * GET /api/events: Server-Sent Events derived from the indexed chain events. Filters: ?model=slug[,slug]
 * ?kind=version.current,proposal (a family) ?proposal=<id>. Resume: Last-Event-ID (or ?lastEventId=).
 */
export const routes: Route<BaseContext & { events: EventStreamService }>[] = [
  {
    methods: ['GET'],
    pattern: /^\/api\/events\/?$/,
    async handle(req, res, _params, ctx) {
      await ctx.events.handle(req, res, new URL(req.url ?? '/', 'http://x'));
    },
  },
];
