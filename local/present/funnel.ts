/**
 * The two readings of the view → cart → purchase funnel, from user counts.
 *
 * REES46 records purchases that have no cart event before them, so "purchase users / cart users"
 * can exceed 100%: it divides two groups that are not one inside the other. Two honest readings:
 * - step by step: of the users at one step, how many went on to the next (of cart users, how many
 *   bought after a cart). The numerator is a subset of the denominator: never over 100%.
 * - reached: of the users who viewed, how many reached the stage at all (purchase users / view
 *   users), counting purchases that skipped the cart.
 */
import { formatCount, formatPercent } from './format';

/** User counts behind the readings (the app API's `readings`, or the report's own query). */
export interface FunnelCounts {
  /** Users with a view. */
  readonly viewUsers: number;
  /** Users with a cart event. */
  readonly cartUsers: number;
  /** Users with a purchase. */
  readonly purchaseUsers: number;
  /** Users who bought after a cart event (a purchase at or after their first cart). */
  readonly cartThenPurchaseUsers: number;
  /** Users with a purchase and no cart event at all. Derived when absent is impossible: optional. */
  readonly purchaseWithoutCartUsers?: number | null;
  /** Users who carted after viewing (a cart at or after their first view); cartUsers when absent. */
  readonly viewThenCartUsers?: number | null;
}

/** One stage with both readings. */
export interface FunnelStage {
  readonly stage: 'view' | 'cart' | 'purchase';
  readonly label: string;
  /** Users who reached the stage at all. */
  readonly users: number;
  /** Step by step: users who came to this stage from the previous one. */
  readonly stepUsers: number;
  /** stepUsers / users of the previous stage (null for the view stage or a 0 denominator). */
  readonly stepRate: number | null;
  /** users / view users (1 for the view stage; null with no view users). */
  readonly reachedRate: number | null;
}

export interface FunnelReadings {
  readonly stages: readonly FunnelStage[];
  /** Of view users, the share who carted after viewing. */
  readonly viewToCartStep: number | null;
  /** Of cart users, the share who bought after a cart: never over 1. */
  readonly cartToPurchaseStep: number | null;
  /** Cart users / view users. */
  readonly cartReached: number | null;
  /** Purchase users / view users (purchases without a cart included). */
  readonly purchaseReached: number | null;
  /** Buyers who never carted (null when unknown). */
  readonly purchaseWithoutCartUsers: number | null;
  /** The naive "purchase users / cart users" ratio was above 1: the data has purchases without a cart. */
  readonly naiveRatioOver100: boolean;
}

/** a / b, null when b is 0 or either is not a finite number. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

const clampSubset = (part: number, whole: number): number => Math.max(0, Math.min(part, whole));

export function funnelReadings(c: FunnelCounts): FunnelReadings {
  const viewThenCart = clampSubset(c.viewThenCartUsers ?? c.cartUsers, c.viewUsers);
  const cartThenPurchase = clampSubset(c.cartThenPurchaseUsers, c.cartUsers);
  const stages: FunnelStage[] = [
    { stage: 'view', label: 'Viewed a product', users: c.viewUsers, stepUsers: c.viewUsers, stepRate: null, reachedRate: c.viewUsers > 0 ? 1 : null },
    { stage: 'cart', label: 'Put one in the cart', users: c.cartUsers, stepUsers: viewThenCart, stepRate: ratio(viewThenCart, c.viewUsers), reachedRate: ratio(c.cartUsers, c.viewUsers) },
    {
      stage: 'purchase',
      label: 'Bought',
      users: c.purchaseUsers,
      stepUsers: cartThenPurchase,
      stepRate: ratio(cartThenPurchase, c.cartUsers),
      reachedRate: ratio(c.purchaseUsers, c.viewUsers),
    },
  ];
  return {
    stages,
    viewToCartStep: stages[1].stepRate,
    cartToPurchaseStep: stages[2].stepRate,
    cartReached: stages[1].reachedRate,
    purchaseReached: stages[2].reachedRate,
    purchaseWithoutCartUsers: c.purchaseWithoutCartUsers ?? null,
    naiveRatioOver100: c.cartUsers > 0 ? c.purchaseUsers > c.cartUsers : c.purchaseUsers > 0,
  };
}

/** The readings in plain words, a few sentences (text, not HTML). */
export function funnelExplanation(c: FunnelCounts): string {
  const r = funnelReadings(c);
  const parts: string[] = [];
  parts.push(
    `Step by step: of ${formatCount(c.viewUsers)} users who viewed a product, ${formatCount(r.stages[1].stepUsers)} put one in the cart (${formatPercent(r.viewToCartStep)}); ` +
      `of ${formatCount(c.cartUsers)} users with a cart, ${formatCount(r.stages[2].stepUsers)} bought after it (${formatPercent(r.cartToPurchaseStep)}).`,
  );
  parts.push(`Reached: ${formatCount(c.purchaseUsers)} of the ${formatCount(c.viewUsers)} viewers bought something (${formatPercent(r.purchaseReached)}).`);
  if (r.purchaseWithoutCartUsers !== null && r.purchaseWithoutCartUsers > 0) {
    parts.push(
      `${formatCount(r.purchaseWithoutCartUsers)} buyers have no cart event at all: this data records purchases that skip the cart, so the two readings differ` +
        (r.naiveRatioOver100 ? ', and "buyers / cart users" would read over 100%.' : '.'),
    );
  }
  return parts.join(' ');
}
