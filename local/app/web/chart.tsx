/** Chart.js 4 (tree-shaken: only the controllers used) in a Preact component. */
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.color = '#374151';

export const COLORS = { views: '#93c5fd', carts: '#f59e0b', purchases: '#059669', revenue: '#7c3aed', users: '#6b7280' };

/** Category-axis ticks that never overlap: skipped when crowded, tilted at most 45°. */
export const READABLE_X = { autoSkip: true, maxRotation: 45, minRotation: 0, autoSkipPadding: 12 } as const;

export function ChartView({ config, label, height = 300, testId }: { config: ChartConfiguration; label: string; height?: number; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return undefined;
    const chart = new Chart(canvas.current, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } });
    return () => chart.destroy();
  }, [config]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId} data-points={String(config.data.labels?.length ?? 0)} />
    </div>
  );
}
