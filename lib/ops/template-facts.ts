import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvironmentConfig } from '../../environments/types';
import { defineStacks } from '../app';

/** What preflight needs from an environment's synthesized stack. */
export interface TemplateFacts {
  /** Sum of `ReservedConcurrentExecutions` over the stack's Lambda functions. */
  readonly reservedConcurrency: number;
  /** Functions that reserve concurrency, `logicalId=N`, for the message. */
  readonly reservations: readonly string[];
  /** ECS services by name: task CPU units and deployment `MaximumPercent`. */
  readonly services: Readonly<Record<string, { cpu: number; maximumPercent: number }>>;
  /** Bootstrap stack version the assembly's assets require (`requiresBootstrapStackVersion`). */
  readonly requiredBootstrapVersion: number;
}

interface Resource {
  readonly Type: string;
  // Template JSON: only the properties read below.
  readonly Properties?: Record<string, unknown>;
}

/** Reads the facts from one stack template and the bootstrap version its assembly requires. */
export function factsFromTemplate(
  template: { Resources?: Record<string, Resource> },
  requiredBootstrapVersion: number,
): TemplateFacts {
  const resources = template.Resources ?? {};
  const reservations: string[] = [];
  let reservedConcurrency = 0;
  const services: Record<string, { cpu: number; maximumPercent: number }> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::Lambda::Function') {
      const n = Number(r.Properties?.ReservedConcurrentExecutions ?? 0);
      if (n > 0) {
        reservedConcurrency += n;
        reservations.push(`${id}=${n}`);
      }
    }
    if (r.Type === 'AWS::ECS::Service') {
      const ref = (r.Properties?.TaskDefinition as { Ref?: string } | undefined)?.Ref;
      const td = ref ? resources[ref] : undefined;
      const name = String(r.Properties?.ServiceName ?? id);
      const deployment = r.Properties?.DeploymentConfiguration as { MaximumPercent?: number } | undefined;
      services[name] = {
        cpu: Number(td?.Properties?.Cpu ?? 0),
        // ECS's default when the template leaves it out.
        maximumPercent: deployment?.MaximumPercent ?? 200,
      };
    }
  }
  return { reservedConcurrency, reservations, services, requiredBootstrapVersion };
}

/**
 * The facts of `env`'s stack: from a cloud assembly already synthesized (`assemblyDir`, as the
 * deploy workflow has it), or by synthesizing the app now into a temporary directory (no Lambda
 * bundling: preflight reads no code). Never hard-coded: other changes move reservations.
 */
export function templateFacts(env: EnvironmentConfig, assemblyDir?: string): TemplateFacts {
  if (assemblyDir) return readAssembly(env, assemblyDir);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
  try {
    const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;
    const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    defineStacks(app);
    app.synth();
    return readAssembly(env, outdir);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function readAssembly(env: EnvironmentConfig, dir: string): TemplateFacts {
  const file = path.join(dir, `${env.stackName}.template.json`);
  if (!fs.existsSync(file))
    throw new Error(
      `${file} does not exist: pass the cloud assembly of this commit (npx cdk synth -o <dir>)`,
    );
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { properties?: { requiresBootstrapStackVersion?: number } }>;
  };
  const required = Math.max(
    0,
    ...Object.values(manifest.artifacts ?? {}).map((a) => a.properties?.requiresBootstrapStackVersion ?? 0),
  );
  return factsFromTemplate(JSON.parse(fs.readFileSync(file, 'utf8')), required);
}
