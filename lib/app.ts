import { App, Tags } from 'aws-cdk-lib';
import { loadStageConfig } from '../core/config/stage-config';
import { ShopSightStack } from './shopsight-stack';

/** The stack of one stage, configured from the app's context (`-c stage=prod …`). */
export function buildShopSightApp(app: App, options: { sparkCodeDirectory?: string } = {}): ShopSightStack {
  const config = loadStageConfig(
    (key) => app.node.tryGetContext(key),
    Object.keys(app.node.getAllContext()),
  );
  const stack = new ShopSightStack(app, `ShopSight-${config.stage}`, {
    config,
    sparkCodeDirectory: options.sparkCodeDirectory,
    description: `ShopSight ${config.stage}: S3 data lake, Glue/Athena, EMR Serverless Spark, Aurora MySQL, Step Functions pipeline`,
  });
  Tags.of(app).add('project', 'shopsight');
  Tags.of(app).add('stage', config.stage);
  return stack;
}
