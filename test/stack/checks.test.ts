import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environments } from '../../environments';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { addEnvironmentStacks } from '../../lib/app';
import { BackgroundCloudFormationValidatePlugin, startValidation } from '../../lib/background-validation';
import { applyChecks } from '../../lib/checks';
import { exceptionKey, exceptionsOf, reportedExceptionKeys } from '../../scripts/compliance-report';
import { cdkJsonContext } from '../helpers/shared-assembly';

interface Report {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/**
 * A probe app for cdk-nag's behaviour, without aws-cdk-lib's CloudFormation validation: its engine
 * would be built again on this thread (seconds) for findings these tests do not read.
 */
const probeApp = (prefix: string) => new App({ outdir: tmp(prefix), builtinCloudFormationValidation: false });

function probeStack(app: App): Stack {
  return new Stack(app, 'Probe', { env: { account: '123456789012', region: 'eu-west-1' } });
}

describe('checks at synth', () => {
  test('both stacks pass cdk-nag AwsSolutions and the CloudFormation validation with nothing unacknowledged', () => {
    // As bin/app.ts (`cdk synth`) builds it: the validation registered first, so its engine builds
    // in a worker thread while the stacks are constructed (test/background-validation.test.ts
    // holds it to the stock plugin's report).
    const app = new App({
      outdir: tmp('cb-synth-'),
      context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    });
    startValidation(app);
    const { stacks } = addEnvironmentStacks(app, environments);
    applyChecks(app);
    let assembly: CloudAssembly;
    try {
      assembly = app.synth();
    } finally {
      // Idle once it has answered, but it would stay in this jest worker for the next files.
      for (const plugin of (app as unknown as { _validationPlugins: unknown[] })._validationPlugins)
        if (plugin instanceof BackgroundCloudFormationValidatePlugin)
          void (plugin as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    }
    expect(
      (app as unknown as { _validationPlugins: unknown[] })._validationPlugins.some(
        (p) => p instanceof BackgroundCloudFormationValidatePlugin,
      ),
    ).toBe(true);
    const reportFile = path.join(app.outdir, 'validation-report.json');
    const report: Report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    const violations = report.pluginReports.flatMap((p) =>
      p.violations.map(
        (v) =>
          `${p.pluginName} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`,
      ),
    );
    expect(violations).toEqual([]);
    // The messages of this synthesis: what Annotations.fromStack reads, without the whole app (and
    // every cdk-nag pack) synthesized again per stack and per level.
    for (const stack of stacks) {
      const loud = assembly
        .getStackArtifact(stack.artifactId)
        .messages.filter((m) => m.level === 'error' || m.level === 'warning')
        .map((m) => `${stack.stackName} ${m.level} at ${m.id}: ${String(m.entry.data)}`);
      expect(loud).toEqual([]);
    }

    // No exception may land without docs/compliance.md listing it (npm run compliance).
    const reported = reportedExceptionKeys(
      fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'compliance.md'), 'utf8'),
    );
    const declared = stacks.flatMap((stack) =>
      exceptionsOf(
        stack.stackName,
        JSON.parse(fs.readFileSync(path.join(app.outdir, `${stack.stackName}.template.json`), 'utf8')),
      ),
    );
    expect(declared.length).toBeGreaterThan(0);
    const unreported = [...new Set(declared.map(exceptionKey))].filter((key) => !reported.has(key));
    expect(unreported).toEqual([]);
  });

  test('fails synth on an unacknowledged finding (the rule pack is really wired)', () => {
    const app = probeApp('cb-nag-');
    const stack = probeStack(app);
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      natGateways: 0,
    });
    new ec2.SecurityGroup(stack, 'Open', { vpc }).addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    applyChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-EC23/);
  });

  test('an acknowledgement with a reason silences exactly its finding', () => {
    const synthError = (acknowledge: boolean): string => {
      const app = probeApp('cb-ack-');
      const bucket = new s3.Bucket(probeStack(app), 'Bucket', { enforceSSL: true });
      if (acknowledge) {
        Validations.of(bucket).acknowledge({
          id: 'AwsSolutions-S1',
          reason: 'Probe bucket: access logging is not under test here',
        });
      }
      applyChecks(app);
      try {
        app.synth();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const before = synthError(false);
    expect(before).toContain('AwsSolutions-S1');
    expect(before).toContain('NIST.800.53.R5-S3BucketLoggingEnabled');
    const after = synthError(true);
    expect(after).not.toContain('AwsSolutions-S1');
    // The NIST pack's finding on the same bucket is a different rule: still reported.
    expect(after).toContain('NIST.800.53.R5-S3BucketLoggingEnabled');
  });
});
