import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { READY_MARKER } from '../../core/contract/layout';

/** Starts an execution with `input` (the execution input: `inputPrefix`), retrying EventBridge's delivery. */
const startRun = (stateMachine: sfn.IStateMachine, input: Record<string, unknown>): targets.SfnStateMachine =>
  new targets.SfnStateMachine(stateMachine, { input: events.RuleTargetInput.fromObject(input), retryAttempts: 4 });

export interface ReadyMarkerTriggerProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The raw bucket; it must send its events to EventBridge (`eventBridgeEnabled`). */
  readonly rawBucket: s3.IBucket;
}

/**
 * Starts a run when a `_READY` object lands in the raw bucket; the run reads that folder (the
 * marker's key is the execution's `inputPrefix`). The rule is this construct's `Default` child, so
 * its logical id is the construct's.
 */
export class ReadyMarkerTrigger extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReadyMarkerTriggerProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Default', {
      description: `Starts a ShopSight run when a ${READY_MARKER} object lands in the raw bucket; the run reads that folder.`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.rawBucket.bucketName] },
          object: { key: [{ suffix: READY_MARKER }] },
        },
      },
      targets: [startRun(props.stateMachine, { inputPrefix: events.EventField.fromPath('$.detail.object.key') })],
    });
  }
}

export interface ScheduledTriggerProps {
  readonly stateMachine: sfn.IStateMachine;
  /** An EventBridge schedule expression: `cron(…)` or `rate(…)`. */
  readonly schedule: string;
  /** The raw folder each scheduled run reads. */
  readonly inputPrefix: string;
}

/** Runs the pipeline on one raw folder on a schedule. The rule is this construct's `Default` child. */
export class ScheduledTrigger extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ScheduledTriggerProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Default', {
      description: `Runs ShopSight on ${props.inputPrefix} on a schedule.`,
      schedule: events.Schedule.expression(props.schedule),
      targets: [startRun(props.stateMachine, { inputPrefix: props.inputPrefix })],
    });
  }
}
