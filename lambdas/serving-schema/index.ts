/**
 * serving-schema: the CloudFormation custom resource (through the custom-resources Provider) that
 * keeps the Aurora serving schema current on every deploy, as the cluster's admin, through the
 * Data API:
 *   1. applies pending numbered migrations (core/serving/mysql-schema.ts), recorded in schema_migrations;
 *   2. creates or updates the BI read-only user and the loader user from their Secrets Manager
 *      secrets (CREATE USER IF NOT EXISTS, ALTER USER with the secret's password, the grants).
 * Every step is idempotent, so Create and Update do the same thing and a retried deploy is safe.
 * Delete leaves the database alone: the cluster's own removal policy decides what happens to data.
 *
 * The Secrets Manager client is the one the Node.js 22 Lambda runtime ships (SDK v3); the function is
 * bundled with it marked external, because this repository does not depend on it otherwise.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SqlRunner } from '../../core/serving/sql-runner';
import { applyPendingMigrations, biUserStatements, IDENTIFIER_PATTERN, loaderUserStatements, SecretStatement, ServingEngine } from '../../core/serving/mysql-schema';
import { createDataApiClient, DataApi } from '../shared/data-api';

/** The custom resource's properties (CloudFormation passes them as strings). */
export interface ServingSchemaProperties {
  readonly ClusterArn: string;
  readonly AdminSecretArn: string;
  readonly DatabaseName: string;
  readonly BiSecretArn: string;
  readonly LoaderSecretArn: string;
  /** Changes with the migrations, so that a new migration makes CloudFormation send an Update. */
  readonly SchemaVersion: string;
}

export interface DatabaseCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ServingSchemaResult {
  readonly appliedMigrations: number[];
  readonly users: string[];
}

/** Migrations, then both users. `engine` is 'mariadb' only in tests (no AWS_LOAD_S3_ACCESS role there). */
export async function applyServingSchema(
  db: SqlRunner,
  database: string,
  users: { bi: DatabaseCredentials; loader: DatabaseCredentials },
  engine: ServingEngine,
): Promise<ServingSchemaResult> {
  const appliedMigrations = await applyPendingMigrations(db, engine);
  for (const user of [users.bi, users.loader]) {
    if (!IDENTIFIER_PATTERN.test(user.username)) throw new Error(`Database user name "${user.username}" is not a plain identifier`);
  }
  const statements = [
    ...biUserStatements(users.bi.username, users.bi.password, database),
    ...loaderUserStatements(users.loader.username, users.loader.password, database, engine),
  ];
  for (const s of statements) await runRedacted(db, s);
  return { appliedMigrations, users: [users.bi.username, users.loader.username] };
}

/** Runs a statement whose SQL may hold a password: an error (MySQL quotes the SQL near a syntax error) never shows it. */
async function runRedacted(db: SqlRunner, statement: SecretStatement): Promise<void> {
  try {
    await db.query(statement);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    const secret = statement.redact;
    const redacted = secret ? text.split(secret.replace(/'/g, "''")).join('***').split(secret).join('***') : text;
    throw new Error(`${statement.sql.split(/ IDENTIFIED BY /)[0]}: ${redacted}`);
  }
}

interface SecretsManagerModule {
  SecretsManagerClient: new (config: object) => { send(command: object): Promise<{ SecretString?: string }> };
  GetSecretValueCommand: new (input: { SecretId: string }) => object;
}

async function readCredentials(secretArn: string): Promise<DatabaseCredentials> {
  // Provided by the Lambda runtime (see the header); required here so that bundling leaves it out.
  const sm = require('@aws-sdk/client-secrets-manager') as SecretsManagerModule;
  const output = await new sm.SecretsManagerClient({}).send(new sm.GetSecretValueCommand({ SecretId: secretArn }));
  const secret = JSON.parse(output.SecretString ?? '{}') as Partial<DatabaseCredentials>;
  if (!secret.username || !secret.password) throw new Error(`Secret ${secretArn} has no username and password`);
  return { username: secret.username, password: secret.password };
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const props = event.ResourceProperties as unknown as ServingSchemaProperties;
  const physicalId = `serving-schema-${props.DatabaseName}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

  const db = new DataApi(createDataApiClient(), { resourceArn: props.ClusterArn, secretArn: props.AdminSecretArn, database: props.DatabaseName });
  const [bi, loader] = await Promise.all([readCredentials(props.BiSecretArn), readCredentials(props.LoaderSecretArn)]);
  const result = await applyServingSchema(db, props.DatabaseName, { bi, loader }, 'aurora-mysql');
  // No password ever reaches the log or the response.
  console.log(JSON.stringify({ msg: 'serving schema current', requestType: event.RequestType, ...result }));
  return {
    PhysicalResourceId: physicalId,
    Data: { AppliedMigrations: result.appliedMigrations.join(','), BiUser: bi.username, LoaderUser: loader.username },
  };
}
