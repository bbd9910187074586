import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  /** A colour class of the stylesheet is not reachable from a canvas: a colour it is. */
  stroke: string;
  values: (number | null)[];
}

/** A uPlot time chart; `times` in unix seconds. Redrawn when the data changes. */
export function TimeChart({ title, times, series, unit }: { title: string; times: number[]; series: Series[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, Math.min(el.clientWidth || 640, 900));
    const plot = new uPlot(
      {
        width,
        height: 200,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false }))],
        axes: [{}, { label: unit, size: 60 }],
        legend: { show: true },
      },
      [times, ...series.map((s) => s.values)],
      el,
    );
    return () => plot.destroy();
  }, [times, series, unit]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(", ")} over time`} />
    </figure>
  );
}
