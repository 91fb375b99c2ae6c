import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildShopSightApp } from '../../lib/app';
import { ShopSightStack } from '../../lib/shopsight-stack';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The Spark code folder the stack deploys; `npm ci` builds it (the `prepare` script). */
export const SPARK_CODE_DIR = path.join(REPO_ROOT, 'dist', 'spark-jobs');

/** cdk.json's context (feature flags and defaults): what `npx cdk synth` gives the app. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf-8')).context;

/** A fresh app as the CLI would build it, plus `-c key=value` context, in its own output folder. */
export function newApp(context: Record<string, unknown> = {}): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-cdk-'));
  return new App({ outdir, context: { ...CDK_JSON_CONTEXT, ...context } });
}

export interface SynthesizedStage {
  readonly stack: ShopSightStack;
  readonly template: Template;
}

const cache = new Map<string, SynthesizedStage>();

/** The stack of a stage, synthesized once per test file and context. */
export function synthStage(context: Record<string, unknown> = {}): SynthesizedStage {
  const key = JSON.stringify(context);
  let stage = cache.get(key);
  if (!stage) {
    const stack = buildShopSightApp(newApp(context));
    stage = { stack, template: Template.fromStack(stack) };
    cache.set(key, stage);
  }
  return stage;
}
