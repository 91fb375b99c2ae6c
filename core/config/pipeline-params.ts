/**
 * The analytics parameters: one typed definition that CDK passes to the Spark jobs (through the
 * state machine) and that the local engine reads directly. An execution may override any leaf
 * with its `parameters` object; `resolvePipelineParameters` validates and merges the override.
 */

export interface PipelineParameters {
  /** RetailRocket has no session id: a new session starts after this many minutes of inactivity. */
  readonly sessionGapMinutes: number;
  /** Implicit-feedback weight of each event type in the user×product confidence (ALS) and in scores. */
  readonly eventWeights: { readonly view: number; readonly cart: number; readonly purchase: number };
  readonly associationRules: {
    /** FP-Growth minimum support for sub-category baskets (one basket per user per day). */
    readonly minSupportSubCategory: number;
    /** FP-Growth minimum support for product baskets (one basket per session). */
    readonly minSupportProduct: number;
    readonly minConfidence: number;
    /** Bought-together rows kept per product. */
    readonly boughtTogetherPerProduct: number;
  };
  readonly recommendations: {
    readonly rank: number;
    readonly regParam: number;
    /** Confidence scaling c = 1 + alpha * r (Hu, Koren, Volinsky 2008). */
    readonly alpha: number;
    readonly maxIter: number;
    readonly topN: number;
    readonly excludePurchased: boolean;
    /** The last this-many days of the run are held out for evaluation. */
    readonly holdoutDays: number;
    /** k of precision@k, recall@k, MAP@k, NDCG@k. */
    readonly evaluationK: number;
    readonly similarProductsPerProduct: number;
    /** Users with fewer distinct products get no recommendations (the API serves popular products to them). */
    readonly minUserProducts: number;
    /** Only this many most popular products are recommended and get similar products (scoring cost is users × candidates × rank). */
    readonly candidateProducts: number;
    readonly seed: number;
  };
  readonly purchaseIntent: {
    readonly trainFraction: number;
    readonly regParam: number;
    readonly maxIter: number;
    /** Probability at or above which a session is predicted to purchase. */
    readonly threshold: number;
    readonly seed: number;
  };
  readonly segments: {
    readonly k: number;
    readonly maxIter: number;
    readonly seed: number;
  };
  /** docs/spend-forecast.md */
  readonly spendForecast: {
    /** Days of customer spend to forecast after the run (shortened to a third of the run's span when that is less). */
    readonly forecastHorizonDays: number;
    /** Days of daily revenue to forecast after the run; the same number of last days is the backtest. */
    readonly revenueHorizonDays: number;
    /** L2 penalty of both GLMs (on standardised features; the intercept is not penalised). */
    readonly regParam: number;
    /** IRLS iterations at most (it stops earlier once no coefficient moves by more than 1e-6, as MLlib's IRLS does). */
    readonly maxIter: number;
  };
}

export const DEFAULT_PIPELINE_PARAMETERS: PipelineParameters = {
  sessionGapMinutes: 30,
  eventWeights: { view: 1, cart: 4, purchase: 10 },
  associationRules: {
    minSupportSubCategory: 0.01,
    minSupportProduct: 0.0005,
    minConfidence: 0.1,
    boughtTogetherPerProduct: 10,
  },
  recommendations: {
    rank: 32,
    regParam: 0.1,
    alpha: 40,
    maxIter: 10,
    topN: 20,
    excludePurchased: true,
    holdoutDays: 2,
    evaluationK: 10,
    similarProductsPerProduct: 10,
    minUserProducts: 2,
    candidateProducts: 10000,
    seed: 42,
  },
  purchaseIntent: { trainFraction: 0.8, regParam: 0.01, maxIter: 100, threshold: 0.5, seed: 42 },
  segments: { k: 5, maxIter: 50, seed: 42 },
  spendForecast: { forecastHorizonDays: 30, revenueHorizonDays: 14, regParam: 0.01, maxIter: 25 },
};

type Rule =
  | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly integer?: boolean; readonly exclusiveMin?: boolean }
  | { readonly kind: 'boolean' };

const num = (min: number, max: number, integer = false, exclusiveMin = false): Rule => ({
  kind: 'number',
  min,
  max,
  integer,
  exclusiveMin,
});
const BOOL: Rule = { kind: 'boolean' };
const INT32 = 2 ** 31 - 1;

/** The allowed values of every leaf, in the same shape as the parameters. */
const RULES: { readonly [K in keyof PipelineParameters]: { readonly [L in keyof PipelineParameters[K]]: Rule } | Rule } = {
  sessionGapMinutes: num(1, 24 * 60, true),
  eventWeights: { view: num(0, 1000), cart: num(0, 1000), purchase: num(0, 1000) },
  associationRules: {
    minSupportSubCategory: num(0, 1, false, true),
    minSupportProduct: num(0, 1, false, true),
    minConfidence: num(0, 1),
    boughtTogetherPerProduct: num(1, 1000, true),
  },
  recommendations: {
    rank: num(1, 1000, true),
    regParam: num(0, 1000),
    alpha: num(0, 100000),
    maxIter: num(1, 1000, true),
    topN: num(1, 1000, true),
    excludePurchased: BOOL,
    holdoutDays: num(0, 365, true),
    evaluationK: num(1, 1000, true),
    similarProductsPerProduct: num(1, 1000, true),
    minUserProducts: num(1, 1000000, true),
    candidateProducts: num(1, 100000000, true),
    seed: num(0, INT32, true),
  },
  purchaseIntent: {
    trainFraction: num(0, 1, false, true),
    regParam: num(0, 1000),
    maxIter: num(1, 10000, true),
    threshold: num(0, 1),
    seed: num(0, INT32, true),
  },
  segments: { k: num(2, 100, true), maxIter: num(1, 10000, true), seed: num(0, INT32, true) },
  spendForecast: {
    forecastHorizonDays: num(1, 365, true),
    revenueHorizonDays: num(1, 365, true),
    regParam: num(0, 1000),
    maxIter: num(1, 1000, true),
  },
};

const isRule = (x: unknown): x is Rule => typeof x === 'object' && x !== null && 'kind' in x;
const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

function describeRule(rule: Rule): string {
  if (rule.kind === 'boolean') return 'true or false';
  const low = rule.exclusiveMin ? `greater than ${rule.min}` : `from ${rule.min}`;
  return `${rule.integer ? 'an integer' : 'a number'} ${low} ${rule.exclusiveMin ? 'up to' : 'to'} ${rule.max}`;
}

function checkLeaf(path: string, value: unknown, rule: Rule): void {
  if (rule.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new Error(`${path} must be ${describeRule(rule)}, got ${JSON.stringify(value)}`);
    return;
  }
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.exclusiveMin ? value > rule.min : value >= rule.min) &&
    value <= rule.max &&
    (!rule.integer || Number.isInteger(value));
  if (!ok) throw new Error(`${path} must be ${describeRule(rule)}, got ${JSON.stringify(value)}`);
}

function merge(path: string, defaults: unknown, override: unknown, rules: unknown): unknown {
  if (isRule(rules)) {
    checkLeaf(path, override, rules);
    return override;
  }
  if (!isPlainObject(override)) throw new Error(`${path} must be an object, got ${JSON.stringify(override)}`);
  const result: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const ruleMap = rules as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    // Own keys only: `in` would also find Object.prototype's (constructor, __proto__, toString …)
    // and let them through as parameters.
    if (!Object.prototype.hasOwnProperty.call(ruleMap, key)) {
      throw new Error(`${path}.${key} is not a known parameter; known: ${Object.keys(ruleMap).join(', ')}`);
    }
    result[key] = merge(`${path}.${key}`, (defaults as Record<string, unknown>)[key], value, ruleMap[key]);
  }
  return result;
}

/**
 * Defaults with an execution's overrides applied. Throws an Error whose message names the
 * offending parameter path and its allowed values.
 */
export function resolvePipelineParameters(
  overrides: unknown,
  defaults: PipelineParameters = DEFAULT_PIPELINE_PARAMETERS,
): PipelineParameters {
  if (overrides === undefined || overrides === null) return defaults;
  return merge('parameters', defaults, overrides, RULES) as PipelineParameters;
}
