import { type Delivery, must, type Webhook } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { Empty, Loaded } from "../components/states.tsx";
import { DeliveryStatus, WebhookHealth } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { mapLimited } from "../lib/limit.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";
import { OverviewCharts } from "./overview-charts.tsx";

interface WebhookSummary {
  webhook: Webhook;
  /** Pending deliveries counted up to one page (capped: there may be more). */
  pending: number;
  capped: boolean;
  recentFailed: Delivery[];
}

const PAGE = 100;

export function OverviewPage() {
  const { api, tenantQuery, href } = useSession();
  const [load, reload] = useLoad(async () => {
    const page = await must(api.GET("/v1/webhooks", { params: { query: { limit: String(PAGE), ...tenantQuery } } }));
    const summaries = await mapLimited(page.data, 4, async (webhook): Promise<WebhookSummary> => {
      const path = { id: webhook.id };
      const pending = await must(api.GET("/v1/webhooks/{id}/deliveries", { params: { path, query: { status: "pending", limit: "100" } } }));
      const troubled = !webhook.enabled || webhook.failure_count > 0;
      const failed = troubled ? await must(api.GET("/v1/webhooks/{id}/deliveries", { params: { path, query: { status: "failed", limit: "5" } } })) : { data: [] };
      return { webhook, pending: pending.data.length, capped: pending.next_cursor !== null, recentFailed: failed.data };
    });
    return { summaries, more: page.next_cursor !== null };
  }, [api, tenantQuery.tenant]);
  return (
    <section>
      <h1>Overview</h1>
      <OverviewCharts />
      <Loaded load={load} what="webhooks" retry={reload}>
        {({ summaries, more }) => {
          const pending = summaries.reduce((n, s) => n + s.pending, 0);
          const capped = summaries.some((s) => s.capped) || more;
          const troubled = summaries.filter((s) => !s.webhook.enabled || s.webhook.failure_count > 0);
          return (
            <>
              <div class="tiles">
                <p class="tile">
                  <span class="tile-n" data-testid="backlog">
                    {pending}
                    {capped ? "+" : ""}
                  </span>
                  pending deliveries
                </p>
                <p class="tile">
                  <span class="tile-n">{summaries.length}{more ? "+" : ""}</span> webhooks
                </p>
                <p class="tile">
                  <span class="tile-n">{troubled.length}</span> failing or disabled
                </p>
              </div>
              <h2>Failing or disabled webhooks</h2>
              {troubled.length === 0 ? (
                <Empty>Every webhook is enabled and delivering.</Empty>
              ) : (
                <ul class="troubled">
                  {troubled.map(({ webhook, recentFailed }) => (
                    <li key={webhook.id}>
                      <p>
                        <a href={href(`/console/webhooks/${webhook.id}`)}>{webhook.url}</a> <WebhookHealth webhook={webhook} />
                      </p>
                      {recentFailed.length > 0 ? (
                        <table>
                          <caption>Recent failed deliveries</caption>
                          <thead>
                            <tr>
                              <th scope="col">Delivery</th>
                              <th scope="col">Event type</th>
                              <th scope="col">Status</th>
                              <th scope="col">Last error</th>
                              <th scope="col">Created</th>
                            </tr>
                          </thead>
                          <tbody>
                            {recentFailed.map((d) => (
                              <tr key={d.id}>
                                <td>
                                  <Id id={d.id} href={href(`/console/deliveries/${d.id}`)} />
                                </td>
                                <td>{d.event_type}</td>
                                <td>
                                  <DeliveryStatus status={d.status} />
                                </td>
                                <td>{d.last_error ?? (d.last_status_code ? `HTTP ${d.last_status_code}` : "–")}</td>
                                <td>
                                  <Time iso={d.created_at} />
                                </td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      ) : null}
                    </li>
                  ))}
                </ul>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
