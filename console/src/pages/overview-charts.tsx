import { ApiError, getUntyped } from "../api/client.ts";
import { TimeChart } from "../components/chart.tsx";
import { Empty, ErrorNote, Loading } from "../components/states.tsx";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

/** GET /v1/stats/deliveries (API.md §12). */
interface StatsBucket {
  start: string;
  succeeded: number;
  failed: number;
  retried: number;
  p95_ms: number | null;
}

const BUCKET_MINUTES = 5;

/** Deliveries per minute and p95 latency over 24 h; says so plainly when the server lacks the series. */
export function OverviewCharts() {
  const { credential, tenantQuery } = useSession();
  const q = new URLSearchParams({ window: "24h", bucket: `${BUCKET_MINUTES}m`, ...tenantQuery });
  const [load, reload] = useLoad(async () => {
    try {
      return await getUntyped<{ buckets: StatsBucket[] }>(credential, `/v1/stats/deliveries?${q}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }, [credential, q.toString()]);
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
  if (buckets.length === 0) return <Empty>No deliveries in the last 24 hours.</Empty>;
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
