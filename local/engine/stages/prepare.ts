/**
 * Prepare stage of the local engine (the twin of spark-jobs/shopsight_jobs/prepare.py): the raw input
 * read by the dataset's reader into the canonical `events` and the `rejects`, then the seven schema
 * tables and the insight tables, each computed by the SELECT its contract `sql` names
 * (core/sql/prepare/schemas/, core/sql/prepare/insights/). The pipeline (../pipeline.ts) times the
 * three parts as its `prepare`, `schemas` and `insights` stages.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { PipelineParameters } from '../../../core/config/pipeline-params';
import { INSIGHT_TABLE_NAMES, SCHEMA_TABLE_NAMES } from '../../../core/contract';
import { createTableFromQuery } from '../duck';
import { ResolvedInputs } from '../inputs';
import { loadRees46, Rees46LoadResult } from '../rees46-reader';
import { loadRetailRocket, RetailRocketLoadResult } from '../retailrocket-reader';
import { readTableSql } from '../sql';

/** Reads the inputs into `events` and `rejects` with the dataset's reader; its row accounting per file and in total. */
export async function readPrepareInputs(connection: DuckDBConnection, inputs: ResolvedInputs, params: PipelineParameters): Promise<Rees46LoadResult | RetailRocketLoadResult> {
  return inputs.dataset === 'rees46'
    ? loadRees46(connection, [...inputs.events])
    : loadRetailRocket(
        connection,
        { events: [...inputs.events], categoryTree: inputs.categoryTree, itemProperties: [...inputs.itemProperties] },
        { sessionGapMinutes: params.sessionGapMinutes },
      );
}

/** Creates each table from its contract SQL over `events`, in the order given; the rows written in all. */
async function createFromContractSql(connection: DuckDBConnection, tables: readonly string[]): Promise<number> {
  let rows = 0;
  for (const table of tables) rows += await createTableFromQuery(connection, table, readTableSql(table));
  return rows;
}

/** The seven schema tables of the original flow, in its order; the rows written in all. */
export function buildSchemaTables(connection: DuckDBConnection): Promise<number> {
  return createFromContractSql(connection, SCHEMA_TABLE_NAMES);
}

/** The insight tables (products first); the rows written in all. */
export function buildInsightTables(connection: DuckDBConnection): Promise<number> {
  return createFromContractSql(connection, INSIGHT_TABLE_NAMES);
}
