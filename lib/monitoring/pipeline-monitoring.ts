import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface PipelineMonitoringProps {
  readonly stateMachine: sfn.IStateMachine;
  /** EMR Serverless application id (metrics dimension). */
  readonly emrApplicationId: string;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly cluster?: rds.DatabaseCluster;
  readonly alarmTopic: sns.ITopic;
  /** @default 'ShopSight' */
  readonly dashboardName?: string;
}

/**
 * Alarms on failed, timed-out and aborted executions and on failed EMR Serverless job runs (to the
 * pipeline's SNS topic), and one CloudWatch dashboard for the whole pipeline.
 */
export class PipelineMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarmAction = new actions.SnsAction(props.alarmTopic);
    const alarmOn = (name: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm => {
      const alarm = new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(alarmAction);
      this.alarms.push(alarm);
      return alarm;
    };

    const sm = props.stateMachine;
    alarmOn('ExecutionsFailed', sm.metricFailed({ period, statistic: 'Sum' }), 'A ShopSight pipeline execution failed.');
    alarmOn('ExecutionsTimedOut', sm.metricTimedOut({ period, statistic: 'Sum' }), 'A ShopSight pipeline execution timed out.');
    alarmOn('ExecutionsAborted', sm.metricAborted({ period, statistic: 'Sum' }), 'A ShopSight pipeline execution was aborted.');

    const emrMetric = (metricName: string, statistic = 'Sum'): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/EMRServerless',
        metricName,
        dimensionsMap: { ApplicationId: props.emrApplicationId },
        period,
        statistic,
      });
    alarmOn('SparkJobsFailed', emrMetric('FailedJobs', 'Maximum'), 'A ShopSight Spark job run failed on EMR Serverless.');

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'ShopSight',
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Pipeline executions',
        left: [
          sm.metricStarted({ period, statistic: 'Sum' }),
          sm.metricSucceeded({ period, statistic: 'Sum' }),
          sm.metricFailed({ period, statistic: 'Sum' }),
          sm.metricTimedOut({ period, statistic: 'Sum' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Execution time (ms)',
        left: [sm.metricTime({ period, statistic: 'Maximum' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Spark job runs',
        left: ['RunningJobs', 'SuccessJobs', 'FailedJobs', 'PendingJobs'].map((m) => emrMetric(m, 'Maximum')),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Spark capacity in use',
        left: [emrMetric('CPUAllocated', 'Maximum')],
        right: [emrMetric('MemoryAllocated', 'Maximum')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: Object.entries(props.functions).map(([label, fn]) => fn.metricErrors({ period, label })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration (p99, ms)',
        left: Object.entries(props.functions).map(([label, fn]) => fn.metricDuration({ period, label, statistic: 'p99' })),
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    if (props.cluster) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Aurora capacity (ACU) and connections',
          left: [props.cluster.metricServerlessDatabaseCapacity({ period, statistic: 'Maximum' })],
          right: [props.cluster.metricDatabaseConnections({ period, statistic: 'Maximum' })],
          width: 24,
        }),
      );
    }
  }
}
