// Periods as the API takes them: [from, to) in UTC. The forms ask for days; the
// "to" day is included, so the API's exclusive end is the next midnight.
export function dayStart(day: string): string | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) ? `${day}T00:00:00Z` : null;
}

export function dayAfter(day: string): string | null {
  const start = dayStart(day);
  if (!start) return null;
  const next = new Date(start);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().replace(".000Z", "Z");
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

// The current month so far, as the default period.
export function thisMonth(now = new Date()): { from: string; to: string } {
  return { from: isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))), to: isoDay(now) };
}

export function seconds(value: number | null | undefined): string {
  if (value == null) return "—";
  const minutes = Math.floor(value / 60);
  return minutes ? `${minutes} min ${value % 60} s` : `${value} s`;
}

export const lower = (value: string) => value.toLowerCase().replace(/_/g, " ");
