/** Request validation of the recommendations API: every failure names the field and the reason. */
import { INTENT_FEATURES } from '../contract/analytics-tables';

/** A 400: the client sent something the API cannot use. */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export const MAX_ID = 2n ** 63n - 1n;
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;

/**
 * A positive BIGINT id from a path segment, as canonical decimal text (leading zeros dropped).
 * Never a JavaScript number: ids above 2^53 would be rounded.
 */
export function parseId(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new ValidationError(`${name} is required`);
  if (!/^[0-9]{1,25}$/.test(raw)) throw new ValidationError(`${name} must be a positive integer, got "${raw.slice(0, 40)}"`);
  const value = BigInt(raw);
  if (value < 1n || value > MAX_ID) throw new ValidationError(`${name} must be between 1 and ${MAX_ID}, got ${raw}`);
  return value.toString();
}

/** `?limit=`: an integer from 1 to MAX_LIMIT, DEFAULT_LIMIT when absent. */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^[0-9]{1,4}$/.test(raw)) throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}, got "${raw.slice(0, 40)}"`);
  const limit = Number(raw);
  if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`);
  return limit;
}

export type IntentFeature = (typeof INTENT_FEATURES)[number];
export type SessionFeatures = Record<IntentFeature, number>;

interface FeatureRule {
  readonly integer: boolean;
  readonly min: number;
  readonly max?: number;
}

const COUNT: FeatureRule = { integer: true, min: 0 };
const NON_NEGATIVE: FeatureRule = { integer: false, min: 0 };

/** What a real session can have: counts are whole and ≥ 0, durations and prices ≥ 0, hour and weekday in range. */
export const FEATURE_RULES: Record<IntentFeature, FeatureRule> = {
  views: COUNT,
  carts: COUNT,
  remove_from_carts: COUNT,
  distinct_products: COUNT,
  distinct_categories: COUNT,
  duration_seconds: NON_NEGATIVE,
  start_hour: { integer: true, min: 0, max: 23 },
  day_of_week: { integer: true, min: 1, max: 7 },
  avg_view_price: NON_NEGATIVE,
  max_view_price: NON_NEGATIVE,
  min_view_price: NON_NEGATIVE,
  cart_value: NON_NEGATIVE,
};

function describeRule(rule: FeatureRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  return rule.max === undefined ? `${kind} ≥ ${rule.min}` : `${kind} from ${rule.min} to ${rule.max}`;
}

/** The POST /sessions/score body: a JSON object with every feature as a JSON number, and nothing else. */
export function parseSessionFeatures(body: string | undefined, isBase64Encoded = false): SessionFeatures {
  if (body === undefined || body === '') throw new ValidationError(`body must be a JSON object with the session features (${INTENT_FEATURES.join(', ')})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(isBase64Encoded ? Buffer.from(body, 'base64').toString('utf-8') : body);
  } catch (e) {
    throw new ValidationError(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ValidationError('body must be a JSON object');
  const input = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of Object.keys(input)) {
    if (!(INTENT_FEATURES as readonly string[]).includes(name)) problems.push(`${name} is not a session feature`);
  }
  const features = {} as SessionFeatures;
  for (const name of INTENT_FEATURES) {
    const rule = FEATURE_RULES[name];
    const value = input[name];
    if (value === undefined || value === null) {
      problems.push(`${name} is required (${describeRule(rule)})`);
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push(`${name} must be ${describeRule(rule)}, got ${JSON.stringify(value)}`);
    } else if ((rule.integer && !Number.isInteger(value)) || value < rule.min || (rule.max !== undefined && value > rule.max)) {
      problems.push(`${name} must be ${describeRule(rule)}, got ${value}`);
    } else {
      features[name] = value;
    }
  }
  if (problems.length > 0) throw new ValidationError(problems.join('; '));
  return features;
}
