import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CloudFormationValidatePlugin, IPolicyValidationContext } from 'aws-cdk-lib';
import { BackgroundCloudFormationValidatePlugin, startValidation } from '../lib/background-validation';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { sharedAssemblyDir } from './helpers/shared-assembly';

// lib/background-validation.ts runs aws-cdk-lib's CloudFormation validation in a worker thread to
// overlap its engine build with the app's construction. Its promise: the same report as the stock
// plugin, on this app's real templates and on a template with findings.
describe('background CloudFormation validation', () => {
  let dir: string;
  let context: IPolicyValidationContext;
  // One background plugin for the file: each builds its engine in a worker thread (seconds of CPU).
  let background: BackgroundCloudFormationValidatePlugin;
  const workers: { terminate(): Promise<number> }[] = [];
  const workerOf = (plugin: unknown) => (plugin as { worker: { terminate(): Promise<number> } }).worker;

  beforeAll(() => {
    background = new BackgroundCloudFormationValidatePlugin();
    workers.push(workerOf(background));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-validate-'));
    // The app's real templates: the run's one synthesis (test/helpers/shared-assembly.ts).
    const assembly = new CloudAssembly(sharedAssemblyDir());
    const bad = path.join(dir, 'Bad.template.json');
    // An unknown property and a wrongly typed one: the engine must report errors for both.
    fs.writeFileSync(
      bad,
      JSON.stringify({
        Resources: {
          Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon', Colour: 'red' } },
        },
      }),
    );
    const stackTemplates = [
      ...assembly.stacks.map((s) => ({
        stackConstructPath: s.hierarchicalId,
        templatePath: s.templateFullPath,
        accountId: s.environment.account,
        region: s.environment.region,
      })),
      { stackConstructPath: 'Bad', templatePath: bad, accountId: '123456789012', region: 'eu-west-1' },
    ];
    context = {
      stackTemplates,
      templatePaths: stackTemplates.map((s) => s.templatePath),
    } as unknown as IPolicyValidationContext;
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    // The workers are unref'd, but would stay in this jest worker process for the next files.
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('reports exactly what the stock plugin reports (findings, severities, grouping, version)', () => {
    const stock = new CloudFormationValidatePlugin();
    const expected = stock.validate(context);
    const actual = background.validate(context);
    expect(expected.violations.length).toBeGreaterThan(0);
    expect(expected.violations.some((v) => v.severity === 'error')).toBe(true);
    expect(expected.success).toBe(false);
    expect(actual).toEqual(expected);
    expect(background.version).toBe(stock.version);
    expect(background.ruleIds).toEqual(stock.ruleIds);
    // The CDK downgrades this plugin's errors by its name and trusts it by its class.
    expect(background.name).toBe(CloudFormationValidatePlugin.PLUGIN_NAME);
    expect(background).toBeInstanceOf(CloudFormationValidatePlugin);
  });

  it('fails as the stock plugin does when a template cannot be read', () => {
    const missing = {
      stackTemplates: [
        {
          stackConstructPath: 'Gone',
          templatePath: path.join(dir, 'gone.json'),
          accountId: '1',
          region: 'x',
        },
      ],
      templatePaths: [path.join(dir, 'gone.json')],
    } as unknown as IPolicyValidationContext;
    expect(() => new CloudFormationValidatePlugin().validate(missing)).toThrow(/ENOENT/);
    expect(() => background.validate(missing)).toThrow(/ENOENT.*gone\.json/);
  });

  it('registers in place of the default one, and not at all under CDK_VALIDATION=false', () => {
    const plugins = (app: App) => (app as unknown as { _validationPlugins: unknown[] })._validationPlugins;
    const on = new App();
    startValidation(on);
    expect(plugins(on)).toHaveLength(1);
    expect(plugins(on)[0]).toBeInstanceOf(BackgroundCloudFormationValidatePlugin);
    workers.push(workerOf(plugins(on)[0]));
    const saved = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = 'false';
    try {
      const off = new App();
      startValidation(off);
      expect(plugins(off)).toHaveLength(0);
    } finally {
      if (saved === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = saved;
    }
  });
});
