import { ApiError, must } from "../api/client.ts";
import { TimeChart } from "../components/chart.tsx";
import { Empty, ErrorNote, Loading } from "../components/states.tsx";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

const BUCKET_MINUTES = 5;

/** Deliveries per minute and p95 latency over 24 h; says so plainly when the server lacks the series. */
export function OverviewCharts() {
  const { api, tenantQuery } = useSession();
  const [load, reload] = useLoad(async () => {
    try {
      return await must(api.GET("/v1/stats/deliveries", { params: { query: { window: "24h", bucket: `${BUCKET_MINUTES}m`, ...tenantQuery } } }));
    } catch (err) {
      // A server older than GET /v1/stats/deliveries (API.md §12): the rest of the page works.
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }, [api, tenantQuery.tenant]);
  if (load.state === "loading") return <Loading what="the delivery charts" />;
  if (load.state === "error") return <ErrorNote error={load.error} retry={reload} />;
  if (load.data === null) {
    return (
      <p class="state unavailable" data-testid="charts-unavailable">
        Delivery charts are not available: this server does not offer GET /v1/stats/deliveries yet.
      </p>
    );
  }
  const buckets = load.data.buckets;
  if (buckets.every((b) => b.succeeded + b.failed + b.retried === 0)) return <Empty>No delivery attempts in the last 24 hours.</Empty>;
  const times = buckets.map((b) => Date.parse(b.start) / 1000);
  const perMinute = (n: number) => Math.round((n / BUCKET_MINUTES) * 100) / 100;
  return (
    <div class="charts">
      <TimeChart
        title="Deliveries per minute (last 24 h)"
        unit="per minute"
        times={times}
        series={[
          { label: "succeeded", stroke: "#1b7f3b", values: buckets.map((b) => perMinute(b.succeeded)) },
          { label: "failed", stroke: "#b3261e", values: buckets.map((b) => perMinute(b.failed)) },
        ]}
      />
      <TimeChart title="p95 latency (last 24 h)" unit="ms" times={times} series={[{ label: "p95", stroke: "#1f4e8c", values: buckets.map((b) => b.p95_ms) }]} />
    </div>
  );
}
