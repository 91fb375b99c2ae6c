/**
 * Association-rules stage of the local engine (the twin of association_rules.py): baskets from the
 * shared SQL, FP-Growth and rules (local/ml/fpgrowth.ts, MLlib semantics), then the contract tables
 * `association_rules` and `bought_together`. Items cross into JS as dense integer ids; only the
 * item dictionary (distinct sub-categories, distinct purchased products) is held as text.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { ANTECEDENT_SEPARATOR } from '../../../core/contract';
import { associationRules, fpGrowth, minCountFor } from '../../ml/fpgrowth';
import { appendRows, countRows, createContractTable, createTableFromQuery, fetchColumns } from '../duck';
import { readSql } from '../sql';

export interface RulesStageResult {
  readonly baskets: Record<'sub_category' | 'product', number>;
  readonly rules: Record<'sub_category' | 'product', number>;
  readonly boughtTogether: number;
}

const BASKET_SOURCES = {
  sub_category: 'association-rules/sub_category_baskets.sql',
  product: 'association-rules/product_baskets.sql',
} as const;

export async function runAssociationRules(connection: DuckDBConnection, params: PipelineParameters): Promise<RulesStageResult> {
  const p = params.associationRules;
  await createContractTable(connection, 'association_rules');
  const baskets = { sub_category: 0, product: 0 };
  const rules = { sub_category: 0, product: 0 };
  for (const kind of ['sub_category', 'product'] as const) {
    await connection.run(`CREATE OR REPLACE TEMP TABLE _baskets AS SELECT DISTINCT CAST(basket_id AS VARCHAR) AS basket_id, CAST(item AS VARCHAR) AS item FROM (${readSql(BASKET_SOURCES[kind])})`);
    await connection.run(`CREATE OR REPLACE TEMP TABLE _basket_items AS
      SELECT item, CAST(row_number() OVER (ORDER BY item) - 1 AS INTEGER) AS idx FROM (SELECT DISTINCT item FROM _baskets)`);
    await connection.run(`CREATE OR REPLACE TEMP TABLE _basket_ids AS
      SELECT basket_id, CAST(row_number() OVER (ORDER BY basket_id) - 1 AS INTEGER) AS idx FROM (SELECT DISTINCT basket_id FROM _baskets)`);
    const basketCount = await countRows(connection, '_basket_ids');
    baskets[kind] = basketCount;
    if (basketCount === 0) continue;
    const { rows, columns } = await fetchColumns(
      connection,
      `SELECT b.idx, i.idx FROM _baskets JOIN _basket_ids b USING (basket_id) JOIN _basket_items i USING (item) ORDER BY b.idx, i.idx`,
      ['i32', 'i32'] as const,
    );
    const [basketIdx, itemIdx] = columns;
    const itemText = (await connection.runAndReadAll(`SELECT item FROM _basket_items ORDER BY idx`)).getRows().map((r) => String(r[0]));

    function* basketArrays(): Generator<Int32Array> {
      let start = 0;
      for (let r = 1; r <= rows; r++) {
        if (r === rows || basketIdx[r] !== basketIdx[start]) {
          yield itemIdx.subarray(start, r);
          start = r;
        }
      }
    }
    const minSupport = kind === 'sub_category' ? p.minSupportSubCategory : p.minSupportProduct;
    const itemsets = fpGrowth(basketArrays(), { minCount: minCountFor(minSupport, basketCount) });
    const found = associationRules(itemsets, basketCount, p.minConfidence);
    rules[kind] = found.length;
    await appendRows(connection, 'association_rules', (a) => {
      for (const rule of found) {
        const antecedent = rule.antecedent.map((i) => itemText[i]).sort();
        a.appendVarchar(kind);
        a.appendVarchar(antecedent.join(ANTECEDENT_SEPARATOR));
        a.appendInteger(antecedent.length);
        a.appendVarchar(itemText[rule.consequent]);
        a.appendDouble(rule.support);
        a.appendDouble(rule.confidence);
        a.appendDouble(rule.lift);
        a.appendBigInt(BigInt(rule.count));
        a.endRow();
      }
    });
  }
  for (const t of ['_baskets', '_basket_items', '_basket_ids']) await connection.run(`DROP TABLE IF EXISTS ${t}`);

  // bought_together: the product rules with a one-item antecedent, best first per product.
  const boughtTogether = await createTableFromQuery(
    connection,
    'bought_together',
    `SELECT product_id, CAST(rank AS INTEGER) AS rank, other_product_id, support, confidence, lift, baskets FROM (
       SELECT CAST(antecedent AS BIGINT) AS product_id, CAST(consequent AS BIGINT) AS other_product_id, support, confidence, lift, baskets,
         row_number() OVER (PARTITION BY antecedent ORDER BY confidence DESC, lift DESC, CAST(consequent AS BIGINT)) AS rank
       FROM association_rules WHERE basket_kind = 'product' AND antecedent_size = 1)
     WHERE rank <= ${p.boughtTogetherPerProduct}
     ORDER BY product_id, rank`,
  );
  return { baskets, rules, boughtTogether };
}
