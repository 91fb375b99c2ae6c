/**
 * A bare stack for one construct's unit test: an App with cdk.json's context (the app's feature
 * flags), one env-agnostic Stack 'Test', and the app-wide cdk-nag acknowledgements the app's stack
 * has (lib/nag-acknowledgements.ts), so that what remains to judge is the construct's own.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { acknowledgeAppWideFindings } from '../../lib/nag-acknowledgements';
import { PY_FILES_ARCHIVE } from '../../core/config/spark-jobs';
import { findingsUnder, nagViolations } from '../support/serving-test-stack';
import { newApp } from '../support/stack';

export interface BareStack {
  readonly app: App;
  readonly stack: Stack;
}

export function bareStack(): BareStack {
  const app = newApp();
  const stack = new Stack(app, 'Test');
  acknowledgeAppWideFindings(stack);
  return { app, stack };
}

export interface Synthesized {
  readonly template: Template;
  /** Every unacknowledged AwsSolutions finding in the stack, as `rule @ construct path`. */
  readonly findings: string[];
}

/**
 * Synthesizes once with the AwsSolutions checks: the findings left unacknowledged, and the template
 * as written to the app's output folder (a finding fails synthesis after the template is written).
 */
export function synthesize({ app, stack }: BareStack): Synthesized {
  const findings = findingsUnder(nagViolations(app), `${stack.node.path}/`);
  const template = Template.fromJSON(JSON.parse(fs.readFileSync(path.join(app.outdir, stack.templateFile), 'utf-8')));
  return { template, findings };
}

/** The acknowledgements recorded on one construct (not its parents): finding id (without the pack's prefix) → reason. */
export function acknowledgementsOn(scope: IConstruct): Record<string, string> {
  const acks: Record<string, string> = {};
  for (const entry of scope.node.metadata) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
    for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acks[id.replace(/^AwsSolutions::AwsSolutions-/, '')] = reason;
  }
  return acks;
}

/** A throwaway Spark code folder with a placeholder archive (SparkProcessing only checks that it exists). */
export function placeholderSparkCode(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-spark-placeholder-'));
  fs.writeFileSync(path.join(dir, PY_FILES_ARCHIVE), 'placeholder: the tests never deploy this');
  return dir;
}

/** The statements of every IAM policy attached to `role` (by its logical id), flattened. */
export function statementsOf(template: Template, stack: Stack, role: IConstruct): Record<string, unknown>[] {
  const roleRef = stack.resolve((role as unknown as { roleName: string }).roleName);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(roleRef)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The findings on constructs under any of `paths` (construct paths such as 'Test/Catalog'). */
export const findingsAt = (findings: string[], ...paths: string[]): string[] =>
  findings.filter((f) => paths.some((p) => f.includes(`@ ${p}/`)));
