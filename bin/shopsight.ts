#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildShopSightApp } from '../lib/app';
import { ConfigError } from '../core/config/stage-config';

const app = new App();
try {
  buildShopSightApp(app);
} catch (e) {
  // A configuration mistake gets one line, not a stack trace.
  if (!(e instanceof ConfigError)) throw e;
  console.error(e.message);
  process.exit(1);
}
// Every synth and deploy is checked; an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
