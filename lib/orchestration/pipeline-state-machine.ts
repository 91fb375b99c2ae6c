import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag-acknowledgements';
import { SparkProcessing } from '../processing/spark-processing';
import { ANALYTICS_JOBS, PREPARE_JOB, SparkJobDef } from '../../core/config/spark-jobs';

export interface PipelineStateMachineProps {
  readonly processing: SparkProcessing;
  readonly validateInputFunction: lambda.IFunction;
  readonly dataQualityFunction: lambda.IFunction;
  readonly loadServingFunction: lambda.IFunction;
  readonly notificationTopic: sns.ITopic;
  /** Curated and export locations passed to every job. */
  readonly curatedUri: string;
  readonly exportUri: string;
  /** Each Spark job run is cancelled by EMR Serverless after this long. @default 120 */
  readonly jobTimeoutMinutes?: number;
  /** @default RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
}

/** Errors worth retrying with backoff: throttling and transient service faults, never a failed job. */
const EMR_TRANSIENT_ERRORS = [
  'EMRServerless.ThrottlingException',
  'EMRServerless.InternalServerException',
  'EmrServerless.ThrottlingException',
  'EmrServerless.InternalServerException',
];
const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** A Lambda task with the transient-error retry, catching everything into `catchTarget` (default: the failure notice). */
type Invoke = (
  name: string,
  fn: lambda.IFunction,
  payload: sfn.TaskInput,
  resultPath: string,
  catchTarget?: sfn.IChainable,
  errorPath?: string,
) => tasks.LambdaInvoke;

/** State names the tests and the README refer to. */
export const STATE_NAMES = {
  validate: 'ValidateInput',
  prepare: 'PrepareJob',
  analytics: 'AnalyticsJobs',
  quality: 'DataQualityGate',
  load: 'LoadServingTables',
  claimLoad: 'ClaimServingLoad',
  loadTable: 'LoadServingTable',
  tableLoaded: 'ServingTableLoaded?',
  waitForTable: 'WaitForServingTable',
  checkTable: 'CheckServingTable',
  tableDone: 'ServingTableDone',
  swap: 'SwapServingTables',
  releaseLoad: 'ReleaseServingLoad',
  notifySuccess: 'NotifySuccess',
  notifyFailure: 'NotifyFailure',
  failed: 'PipelineFailed',
  succeeded: 'PipelineSucceeded',
} as const;

export const sparkJobStateName = (job: SparkJobDef): string =>
  job.id
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('') + 'Job';

/**
 * validate input → prepare job → parallel analytics jobs → data-quality gate → claim the serving
 * load → load serving tables (a Map over the served tables) → swap them in → success notice. Every
 * stage catches into the failure notice and a Fail state (the load's states first release their
 * claim), so no failure ever reaches the load step and Aurora keeps serving the previous complete run.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    const jobTimeoutMinutes = props.jobTimeoutMinutes ?? 120;

    const notifyFailure = new tasks.SnsPublish(this, STATE_NAMES.notifyFailure, {
      topic: props.notificationTopic,
      subject: 'ShopSight pipeline failed',
      message: sfn.TaskInput.fromObject({
        status: 'FAILED',
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        // The whole caught error: a path to a Cause that some error lacks would fail this state.
        error: sfn.JsonPath.objectAt('$.error'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    notifyFailure.next(
      new sfn.Fail(this, STATE_NAMES.failed, {
        errorPath: sfn.JsonPath.stringAt('$.error.Error'),
        causePath: sfn.JsonPath.stringAt('$.error.Cause'),
      }),
    );
    const catchInto = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

    const invoke: Invoke = (name, fn, payload, resultPath, catchTarget = notifyFailure, errorPath = '$.error') => {
      const task = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payload,
        payloadResponseOnly: true,
        resultPath,
        retryOnServiceExceptions: false,
      });
      task.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
      task.addCatch(catchTarget, { ...catchInto, resultPath: errorPath });
      return task;
    };

    const validate = invoke(
      STATE_NAMES.validate,
      props.validateInputFunction,
      sfn.TaskInput.fromObject({
        input: sfn.JsonPath.objectAt('$$.Execution.Input'),
        executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
      }),
      '$.run',
    );

    const prepare = this.sparkJobState(PREPARE_JOB, props, jobTimeoutMinutes).addCatch(notifyFailure, catchInto);

    const analytics = new sfn.Parallel(this, STATE_NAMES.analytics, { resultPath: sfn.JsonPath.DISCARD });
    for (const job of ANALYTICS_JOBS) analytics.branch(this.sparkJobState(job, props, jobTimeoutMinutes));
    analytics.addCatch(notifyFailure, catchInto);

    const runIdPayload = sfn.TaskInput.fromObject({ runId: sfn.JsonPath.stringAt('$.run.runId') });
    const quality = invoke(STATE_NAMES.quality, props.dataQualityFunction, runIdPayload, '$.quality');
    const { claim, load, swap } = this.servingLoadStates(props.loadServingFunction, notifyFailure, invoke, catchInto);

    const notifySuccess = new tasks.SnsPublish(this, STATE_NAMES.notifySuccess, {
      topic: props.notificationTopic,
      subject: 'ShopSight pipeline succeeded',
      message: sfn.TaskInput.fromObject({
        status: 'SUCCEEDED',
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        runId: sfn.JsonPath.stringAt('$.run.runId'),
        dataset: sfn.JsonPath.stringAt('$.run.dataset'),
        quality: sfn.JsonPath.objectAt('$.quality'),
        load: sfn.JsonPath.objectAt('$.load'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    notifySuccess.addCatch(notifyFailure, catchInto);

    const definition = validate
      .next(prepare)
      .next(analytics)
      .next(quality)
      .next(claim)
      .next(load)
      .next(swap)
      .next(notifySuccess)
      .next(new sfn.Succeed(this, STATE_NAMES.succeeded));

    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Whole-run bound: prepare and the slowest analytics job, plus slack for the gate and load.
      timeout: Duration.minutes(jobTimeoutMinutes * 2 + 60),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: 'ShopSight: validate input, prepare, analytics jobs, data-quality gate, load Aurora.',
    });
    props.processing.grantStartJobRuns(this.stateMachine);
    for (const fn of new Set([props.validateInputFunction, props.dataQualityFunction, props.loadServingFunction])) {
      acknowledgeWildcardResource(
        this,
        `${fn.functionArn}:*`,
        "Step Functions invokes the function's versions and aliases (CDK LambdaInvoke grant on function ARN and ARN:*).",
      );
    }
  }

  /**
   * The serving load (lambdas/load-serving/index.ts has the actions' events and results):
   *   ClaimServingLoad → LoadServingTables (a Map, one iteration per served table: LoadServingTable,
   *   then WaitForServingTable / CheckServingTable until the table is loaded) → SwapServingTables.
   * The claim token is an MD5 of the execution id: the same for every retry and redrive of this
   * execution (which therefore resume its claim), different for any other execution of the run.
   * Each action is one short Lambda call; a LOAD that outlives its Data API call goes on in the
   * database and is polled here, so neither the Lambda's 15 minutes nor the Data API's 45 s bound
   * a table's load. Any failure first releases the claim (ReleaseServingLoad: kills its background
   * LOADs, records the load failed), then the failure notice.
   */
  private servingLoadStates(
    fn: lambda.IFunction,
    notifyFailure: sfn.IChainable,
    invoke: Invoke,
    catchInto: sfn.CatchProps,
  ): { claim: tasks.LambdaInvoke; load: sfn.Map; swap: tasks.LambdaInvoke } {
    const claimToken = sfn.JsonPath.hash(sfn.JsonPath.stringAt('$$.Execution.Id'), 'MD5');
    const release = invoke(
      STATE_NAMES.releaseLoad,
      fn,
      sfn.TaskInput.fromObject({ action: 'fail', runId: sfn.JsonPath.stringAt('$.run.runId'), claimToken, error: sfn.JsonPath.objectAt('$.error') }),
      sfn.JsonPath.DISCARD,
      // A failed release keeps the run's own error in $.error for the notice.
      notifyFailure,
      '$.releaseError',
    );
    release.next(notifyFailure);
    // Claim and swap are idempotent for one token (a repeated swap only records what happened).
    const claim = invoke(
      STATE_NAMES.claimLoad,
      fn,
      sfn.TaskInput.fromObject({ action: 'claim', runId: sfn.JsonPath.stringAt('$.run.runId'), claimToken }),
      '$.loadClaim',
      release,
    );

    // Inside the Map the state data is the item: the claim and one table.
    const tableFields = {
      runId: sfn.JsonPath.stringAt('$.runId'),
      manifestCreatedAt: sfn.JsonPath.stringAt('$.manifestCreatedAt'),
      claimToken: sfn.JsonPath.stringAt('$.claimToken'),
      table: sfn.JsonPath.stringAt('$.table'),
      expectedRows: sfn.JsonPath.numberAt('$.expectedRows'),
    };
    const tableTask = (name: string, payload: Record<string, unknown>): tasks.LambdaInvoke => {
      const task = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject({ ...tableFields, ...payload }),
        payloadResponseOnly: true,
        resultPath: '$.progress',
        retryOnServiceExceptions: false,
      });
      // Both actions resume (see the handler), so a timed-out or throttled call is safe to repeat.
      task.addRetry({ errors: [...LAMBDA_TRANSIENT_ERRORS, 'Sandbox.Timedout', 'States.Timeout'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
      return task;
    };
    const loadTable = tableTask(STATE_NAMES.loadTable, { action: 'load-table' });
    const checkTable = tableTask(STATE_NAMES.checkTable, {
      action: 'check-table',
      rerun: sfn.JsonPath.objectAt('$.progress.rerun'),
      polls: sfn.JsonPath.numberAt('$.progress.polls'),
    });
    const loaded = new sfn.Choice(this, STATE_NAMES.tableLoaded)
      .when(sfn.Condition.stringEquals('$.progress.status', 'loaded'), new sfn.Succeed(this, STATE_NAMES.tableDone))
      .otherwise(new sfn.Wait(this, STATE_NAMES.waitForTable, { time: sfn.WaitTime.duration(Duration.seconds(20)) }).next(checkTable));
    checkTable.next(loaded);

    const load = new sfn.Map(this, STATE_NAMES.load, {
      itemsPath: '$.loadClaim.tables',
      itemSelector: {
        runId: sfn.JsonPath.stringAt('$.loadClaim.runId'),
        manifestCreatedAt: sfn.JsonPath.stringAt('$.loadClaim.manifestCreatedAt'),
        claimToken: sfn.JsonPath.stringAt('$.loadClaim.claimToken'),
        table: sfn.JsonPath.stringAt('$$.Map.Item.Value.table'),
        expectedRows: sfn.JsonPath.numberAt('$$.Map.Item.Value.expectedRows'),
      },
      // A few LOADs at once: Aurora's S3 import and the cluster's ACUs are shared.
      maxConcurrency: 4,
      resultPath: sfn.JsonPath.DISCARD,
    });
    load.itemProcessor(loadTable.next(loaded));

    const swap = invoke(
      STATE_NAMES.swap,
      fn,
      sfn.TaskInput.fromObject({
        action: 'swap',
        runId: sfn.JsonPath.stringAt('$.loadClaim.runId'),
        manifestCreatedAt: sfn.JsonPath.stringAt('$.loadClaim.manifestCreatedAt'),
        claimToken: sfn.JsonPath.stringAt('$.loadClaim.claimToken'),
      }),
      '$.load',
      release,
    );
    load.addCatch(release, catchInto);
    return { claim, load, swap };
  }

  /**
   * An EMR Serverless job run that the state machine waits for (.sync). aws-cdk-lib has no task for
   * EMR Serverless, hence the CustomState.
   *
   * ClientToken: Step Functions evaluates Parameters again on every Retry, so States.UUID() would
   * give a retried StartJobRun a new token, and a call that created the job before failing with a
   * 5xx would start a second Spark run. A hash of (execution, redrive count, job) is the same for
   * every retry of one execution, so EMR returns the run it already started; a redrive of a failed
   * execution gets a new token and really runs the job again.
   */
  private sparkJobState(job: SparkJobDef, props: PipelineStateMachineProps, timeoutMinutes: number): sfn.CustomState {
    const p = props.processing;
    const state = new sfn.CustomState(this, sparkJobStateName(job), {
      stateJson: {
        Type: 'Task',
        Resource: 'arn:aws:states:::emr-serverless:startJobRun.sync',
        Parameters: {
          ApplicationId: p.application.attrApplicationId,
          ExecutionRoleArn: p.jobRole.roleArn,
          'Name.$': `States.Format('{}-${job.id}', $.run.runId)`,
          'ClientToken.$': `States.Hash(States.Format('${job.id}/{}/{}', $$.Execution.RedriveCount, $$.Execution.Id), 'MD5')`,
          ExecutionTimeoutMinutes: timeoutMinutes,
          JobDriver: {
            SparkSubmit: {
              EntryPoint: p.entryPointUri(job),
              'EntryPointArguments.$':
                `States.Array('--run-id', $.run.runId, '--dataset', $.run.dataset, '--input', $.run.inputUri, ` +
                `'--curated', '${props.curatedUri}', '--exports', '${props.exportUri}', '--params', $.run.parametersJson)`,
              SparkSubmitParameters: p.sparkSubmitParameters(job),
            },
          },
          Tags: { 'shopsight:job': job.id, 'shopsight:run-id.$': '$.run.runId' },
        },
        ResultPath: null,
      },
    });
    state.addRetry({
      errors: EMR_TRANSIENT_ERRORS,
      interval: Duration.seconds(10),
      maxAttempts: 5,
      backoffRate: 2,
      maxDelay: Duration.minutes(2),
      jitterStrategy: sfn.JitterType.FULL,
    });
    return state;
  }
}
