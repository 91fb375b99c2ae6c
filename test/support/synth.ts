/**
 * The state machine definition of the synthesized stack as a concrete Amazon States Language
 * object, for tests that validate or run it locally.
 *
 * CDK renders a DefinitionString as an Fn::Join of literal strings, Refs and Fn::GetAtts. Here every
 * intrinsic is replaced by a deterministic fake value derived from the logical ID and resource type
 * (us-east-1, account 111122223333, partition aws), so the same template always gives the same
 * ASL and a test can compute the value it expects for a given resource with `fakeArn`/`fakeRef`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { buildShopSightApp } from '../../lib/app';
import { PY_FILES_ARCHIVE } from '../../core/config/spark-jobs';
import { ShopSightStack } from '../../lib/shopsight-stack';
import { newApp, SPARK_CODE_DIR, SynthesizedStage, synthStage } from './stack';
import { resolveIntrinsics, TemplateJson } from '../../local/rehearse/template';

export { FAKE_ACCOUNT, FAKE_EMR_APPLICATION_ID, FAKE_PARTITION, FAKE_REGION, fakeArn, fakeGetAtt, fakeRef, resolveIntrinsics } from '../../local/rehearse/template';
export type { TemplateJson } from '../../local/rehearse/template';
import type { AslDefinition } from '../../local/rehearse/local-execution';
export type { AslDefinition, AslState } from '../../local/rehearse/local-execution';

export interface SynthesizedStateMachine {
  readonly logicalId: string;
  readonly definitionString: string;
  readonly definition: AslDefinition;
}

/** Every AWS::StepFunctions::StateMachine in a template, its definition made concrete. */
export function stateMachineDefinitions(template: Template): SynthesizedStateMachine[] {
  const json = template.toJSON() as TemplateJson;
  return Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).map(([logicalId, resource]) => {
    const raw = resource.Properties.DefinitionString ?? resource.Properties.Definition;
    if (raw === undefined) throw new Error(`${logicalId} has neither DefinitionString nor Definition`);
    const resolved = resolveIntrinsics(raw, json);
    const definitionString = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    return { logicalId, definitionString, definition: JSON.parse(definitionString) as AslDefinition };
  });
}

/** The logical ID of a construct's CloudFormation resource (the construct itself or its default child). */
export function logicalIdOf(construct: IConstruct): string {
  const element = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(element instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(element).getLogicalId(element);
}

const placeholderStages = new Map<string, SynthesizedStage>();

/**
 * synthStage, or, in a checkout where `npm run build:spark` has not run (no Spark archive in dist/),
 * the same stack with a throwaway Spark code folder holding a placeholder archive: the state
 * machine does not depend on the code's content, and dist/ is left alone.
 */
function synthStageAnywhere(context: Record<string, unknown>): SynthesizedStage {
  if (fs.existsSync(path.join(SPARK_CODE_DIR, PY_FILES_ARCHIVE))) return synthStage(context);
  const key = JSON.stringify(context);
  let stage = placeholderStages.get(key);
  if (!stage) {
    const sparkCodeDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-spark-placeholder-'));
    fs.writeFileSync(path.join(sparkCodeDirectory, PY_FILES_ARCHIVE), 'placeholder: the tests never deploy this');
    const stack = buildShopSightApp(newApp(context), { sparkCodeDirectory });
    stage = { stack, template: Template.fromStack(stack) };
    placeholderStages.set(key, stage);
  }
  return stage;
}

/**
 * The pipeline state machine of the synthesized stack, as ASL: the dev stage with cdk.json's
 * context (what `cdk synth` builds) plus `context`; synthesized once per test file and context.
 */
export function synthesizedStateMachine(
  context: Record<string, unknown> = {},
): SynthesizedStateMachine & { stack: ShopSightStack; template: Template } {
  const { stack, template } = synthStageAnywhere(context);
  const machines = stateMachineDefinitions(template);
  if (machines.length !== 1) throw new Error(`expected one state machine in the stack, found ${machines.length}`);
  return { ...machines[0], stack, template };
}

/** The pipeline state machine's ASL object (a fresh copy: callers may mutate it). */
export function synthesizedDefinition(context: Record<string, unknown> = {}): AslDefinition {
  return JSON.parse(synthesizedStateMachine(context).definitionString) as AslDefinition;
}
