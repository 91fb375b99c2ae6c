/**
 * Readable names for the customer segments. The engine (local/engine/stages/segments.ts) and Spark
 * (spark-jobs/shopsight_jobs/segments.py) name each k-means segment from its averages with one
 * of six base names, and a name given twice gets `_2`, `_3` … in segment id order
 * (`regular_buyers`, `regular_buyers_2`). These labels say the same thing to a person.
 */

/** Each base name: its label and what it means (the naming rule in words). */
export const SEGMENT_BASES: Readonly<Record<string, { readonly label: string; readonly description: string }>> = {
  frequent_buyers: {
    label: 'Frequent buyers',
    description: 'The group that buys most often: on average at least one and a half sessions with a purchase.',
  },
  regular_buyers: {
    label: 'Regular buyers',
    description: 'Customers who buy: on average at least one session in two ends with a purchase.',
  },
  cart_abandoners: {
    label: 'Cart abandoners',
    description: 'Put products in the cart but rarely buy.',
  },
  window_shoppers: {
    label: 'Window shoppers',
    description: 'Come back for several sessions and look around, but neither cart nor buy.',
  },
  lapsed_visitors: {
    label: 'Lapsed visitors',
    description: 'Have not been seen for a long time (at least half of the period covered), and did not buy.',
  },
  one_time_visitors: {
    label: 'One-time visitors',
    description: 'Came once or so, looked, and left without carting or buying.',
  },
};

/** A segment name split into its base and its repeat number (1 for the first of that base). */
export function parseSegmentName(name: string): { base: string; group: number } {
  const m = /^(.*?)_(\d+)$/.exec(name);
  if (m && SEGMENT_BASES[m[1]] && Number(m[2]) >= 2) return { base: m[1], group: Number(m[2]) };
  return { base: name, group: 1 };
}

const humanise = (s: string): string => {
  const t = s.replace(/[_\s]+/g, ' ').trim();
  return t ? t[0].toUpperCase() + t.slice(1) : s;
};

/**
 * "regular_buyers" → "Regular buyers"; "regular_buyers_2" → "Regular buyers (group 2)";
 * an unknown name → its words with a capital ("big_spenders" → "Big spenders").
 */
export function segmentLabel(segmentName: string | null | undefined): string {
  if (!segmentName) return 'No segment';
  const { base, group } = parseSegmentName(segmentName);
  const known = SEGMENT_BASES[base];
  const label = known ? known.label : humanise(segmentName);
  return known && group > 1 ? `${label} (group ${group})` : label;
}

/** What a segment means in one sentence; a repeated name says it is another group of the same kind. */
export function segmentDescription(segmentName: string | null | undefined): string {
  if (!segmentName) return '';
  const { base, group } = parseSegmentName(segmentName);
  const known = SEGMENT_BASES[base];
  if (!known) return '';
  return group > 1 ? `${known.description} Another group of this kind, with a different mix of habits.` : known.description;
}

/**
 * Labels for all the segments of one run at once: where a base name repeats, its first segment is
 * "(group 1)" too, so that no label reads as the whole kind. Same order as given.
 */
export function segmentLabels(segmentNames: readonly string[]): string[] {
  const repeated = new Set(segmentNames.map((n) => parseSegmentName(n)).filter((p) => p.group > 1).map((p) => p.base));
  return segmentNames.map((n) => {
    const { base, group } = parseSegmentName(n);
    return group === 1 && repeated.has(base) && SEGMENT_BASES[base] ? `${SEGMENT_BASES[base].label} (group 1)` : segmentLabel(n);
  });
}
