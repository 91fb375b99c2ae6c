import { resolveExecutionInput, runIdFromExecutionName } from '../../core/config/execution-input';
import { DEFAULT_PIPELINE_PARAMETERS, resolvePipelineParameters } from '../../core/config/pipeline-params';

describe('pipeline parameters', () => {
  test('no override gives the defaults; an override changes only its leaf', () => {
    expect(resolvePipelineParameters(undefined)).toEqual(DEFAULT_PIPELINE_PARAMETERS);
    const p = resolvePipelineParameters({ recommendations: { rank: 64 }, eventWeights: { purchase: 20 } });
    expect(p.recommendations.rank).toBe(64);
    expect(p.recommendations.alpha).toBe(DEFAULT_PIPELINE_PARAMETERS.recommendations.alpha);
    expect(p.eventWeights).toEqual({ ...DEFAULT_PIPELINE_PARAMETERS.eventWeights, purchase: 20 });
    // The defaults object itself is never changed by a merge.
    expect(DEFAULT_PIPELINE_PARAMETERS.recommendations.rank).toBe(32);
  });

  test.each([
    [{ recommendations: { rnak: 8 } }, 'parameters.recommendations.rnak is not a known parameter; known: rank,'],
    [{ recommendations: { rank: 2.5 } }, 'parameters.recommendations.rank must be an integer from 1 to 1000, got 2.5'],
    [{ associationRules: { minSupportProduct: 0 } }, 'parameters.associationRules.minSupportProduct must be a number greater than 0 up to 1, got 0'],
    [{ recommendations: { excludePurchased: 'yes' } }, 'parameters.recommendations.excludePurchased must be true or false'],
    [{ segments: 3 }, 'parameters.segments must be an object, got 3'],
    [{ sessionGapMinutes: '30' }, 'parameters.sessionGapMinutes must be an integer from 1 to 1440, got "30"'],
  ])('rejects %j with the path and the allowed values', (override, message) => {
    expect(() => resolvePipelineParameters(override)).toThrow(message);
  });
});

describe('execution input', () => {
  test('only inputPrefix is required: dataset auto, run id from the execution name', () => {
    const r = resolveExecutionInput({ inputPrefix: 'rees46/2019-Oct/' }, 'raw-bucket', 'Manual-Run_2019.10');
    expect(r).toEqual({ dataset: 'auto', inputPrefix: 'rees46/2019-Oct/', runId: 'manual-run_2019-10', parameters: DEFAULT_PIPELINE_PARAMETERS });
  });

  test('an s3:// URI in the raw bucket and a _READY marker key both become the folder', () => {
    expect(resolveExecutionInput({ inputPrefix: 's3://raw-bucket/rees46/' }, 'raw-bucket', 'x').inputPrefix).toBe('rees46/');
    expect(resolveExecutionInput({ inputPrefix: 'retailrocket/2015/_READY' }, 'raw-bucket', 'x').inputPrefix).toBe('retailrocket/2015/');
  });

  test.each([
    [[], 'The execution input must be a JSON object'],
    [{}, 'inputPrefix is required'],
    [{ inputPrefix: 's3://other/rees46/' }, 'is not in the raw bucket raw-bucket'],
    [{ inputPrefix: 'x/', dataset: 'rees' }, 'dataset must be one of auto, rees46, retailrocket; got "rees"'],
    [{ inputPrefix: 'x/', runId: 'Oct 2019' }, 'runId "Oct 2019" is not valid'],
    [{ inputPrefix: 'x/', runId: 7 }, 'runId must be a string'],
    [{ inputPrefix: 'x/', prefix: 'y/' }, 'Unknown execution input field "prefix"; allowed: dataset, inputPrefix, runId, parameters'],
  ])('rejects %j', (input, message) => {
    expect(() => resolveExecutionInput(input, 'raw-bucket', 'exec')).toThrow(message);
  });

  test('execution names become valid run ids', () => {
    expect(runIdFromExecutionName('3f2a9c1e-1b2c-4d5e-8f90-0123456789ab')).toBe('3f2a9c1e-1b2c-4d5e-8f90-0123456789ab');
    expect(runIdFromExecutionName('--Weird Name!!')).toBe('weird-name-');
    expect(runIdFromExecutionName('!!!')).toBe('run');
  });
});
