/** 850ms, 12.3s, 3m04s, 2h03m, 4d02h: an uptime or an age for a person. */
export function formatUptime(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const two = (n: number) => String(n).padStart(2, '0');
  if (t < 1000) return `${t}ms`;
  if (t < 60_000) return `${(t / 1000).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}
