/**
 * Athena I/O of the data-quality gate: start a parameterised query in the workgroup, wait for it
 * with backoff, read its rows as text. The workgroup enforces the result location and encryption,
 * so no ResultConfiguration is sent.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { athenaStringLiteral, QueryRow, QueryRunner } from '../../core/catalog/athena-query';

/** Athena's default account quota is 20-25 concurrent DML queries, shared with every other user of the account. */
export const ATHENA_CONCURRENCY = 4;

export class AthenaQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}


export interface AthenaRunnerOptions {
  readonly workGroup: string;
  /** First wait between status polls; grows by half each poll up to maxPollMs. */
  readonly initialPollMs?: number;
  readonly maxPollMs?: number;
  /** Give up waiting after this long (the caller keeps it inside the Lambda timeout). */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function athenaQueryRunner(client: AthenaClient, options: AthenaRunnerOptions): QueryRunner {
  const { workGroup, initialPollMs = 250, maxPollMs = 2000, timeoutMs = 10 * 60_000, sleep = defaultSleep } = options;

  return async (query) => {
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: query.sql,
        WorkGroup: workGroup,
        ExecutionParameters: query.parameters.length ? query.parameters.map(athenaStringLiteral) : undefined,
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new AthenaQueryError(`Athena returned no QueryExecutionId for ${query.label}`);

    const deadline = Date.now() + timeoutMs;
    let wait = initialPollMs;
    for (;;) {
      const { QueryExecution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const state = QueryExecution?.Status?.State;
      if (state === QueryExecutionState.SUCCEEDED) break;
      if (state === QueryExecutionState.FAILED || state === QueryExecutionState.CANCELLED) {
        const status = QueryExecution?.Status;
        const reason = status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new AthenaQueryError(`Athena query ${id} for ${query.label} ${state}: ${reason}`);
      }
      if (Date.now() + wait > deadline) {
        // Best effort: a query nobody waits for any more should not go on scanning (and billing).
        await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
        throw new AthenaQueryError(
          `Athena query ${id} for ${query.label} still ${state ?? 'in an unknown state'}, not done within ${Math.round(timeoutMs / 1000)} s; stopped it`,
        );
      }
      await sleep(wait);
      wait = Math.min(Math.round(wait * 1.5), maxPollMs);
    }

    const rows: QueryRow[] = [];
    let header: string[] | undefined;
    let nextToken: string | undefined;
    do {
      const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: nextToken }));
      for (const row of page.ResultSet?.Rows ?? []) {
        const cells = (row.Data ?? []).map((d) => d.VarCharValue ?? null);
        // A SELECT's first row on the first page repeats the column names.
        if (!header) {
          header = cells.map((c) => c ?? '');
          continue;
        }
        rows.push(Object.fromEntries(header.map((name, i) => [name, cells[i] ?? null])));
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  };
}
