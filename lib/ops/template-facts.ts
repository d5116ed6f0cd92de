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
  /**
   * Every value CloudFormation or ECS reads from Secrets Manager or Parameter Store for this
   * environment: `{{resolve:…}}` dynamic references, SSM-typed parameters and container secrets.
   * @default none
   */
  readonly references?: readonly TemplateReference[];
  /** Every container image the environment's tasks pull. @default none */
  readonly images?: readonly TemplateImage[];
  /** Every `Fn::ImportValue` export name, with the stack of this app that exports it, if any. @default none */
  readonly imports?: readonly { readonly name: string; readonly exportedBy?: string }[];
}

/** A value read from Secrets Manager or Parameter Store when the stack is deployed or a task starts. */
export interface TemplateReference {
  /** `secretsmanager` (dynamic reference or ECS container secret), `ssm`, `ssm-secure`. */
  readonly service: 'secretsmanager' | 'ssm' | 'ssm-secure';
  /** Secret name or ARN, or parameter name. */
  readonly id: string;
  /** JSON key of the secret's value. @default the whole value */
  readonly jsonKey?: string;
  /** Secret version stage (`AWSCURRENT`, …) or parameter version. @default the current one */
  readonly versionStage?: string;
  /** Secret version id. @default the current one */
  readonly versionId?: string;
  /** Whether this stack creates the secret (then it exists only after the first deploy). */
  readonly createdByStack: boolean;
  /** Logical ids of the resources (or parameters) that read it, for the message. */
  readonly where: readonly string[];
}

/** A container image as a task definition names it. */
export interface TemplateImage {
  readonly uri: string;
  /** Registry account (from `<account>.dkr.ecr.<region>.…`), when it is an ECR image. */
  readonly account?: string;
  readonly region?: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly where: readonly string[];
}

interface Resource {
  readonly Type: string;
  // Template JSON: only the properties read below.
  readonly Properties?: Record<string, unknown>;
}

/** A template as far as preflight reads it. */
export interface TemplateJson {
  readonly Resources?: Record<string, Resource>;
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Outputs?: Record<string, { Export?: { Name?: unknown } }>;
}

/** The value of a template expression when it is a constant once pseudo parameters are known. */
export function literal(value: unknown, pseudo: Readonly<Record<string, string>>): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return pseudo[v.Ref];
  const join = v['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map((p: unknown) => literal(p, pseudo));
    return parts.every((p): p is string => p !== undefined) ? parts.join(join[0]) : undefined;
  }
  const sub = v['Fn::Sub'];
  if (typeof sub === 'string') {
    let unresolved = false;
    const out = sub.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
      if (pseudo[name] === undefined) unresolved = true;
      return pseudo[name] ?? '';
    });
    return unresolved ? undefined : out;
  }
  return undefined;
}

const DYNAMIC_REFERENCE = /\{\{resolve:(secretsmanager|ssm-secure|ssm):([^}]+)\}\}/g;

/** Splits the body of a `{{resolve:secretsmanager:…}}` (the secret id may be an ARN, with colons). */
function secretReference(
  body: string,
): Pick<TemplateReference, 'id' | 'jsonKey' | 'versionStage' | 'versionId'> {
  const parts = body.split(':');
  const idParts = parts[0] === 'arn' ? 7 : 1;
  const id = parts.slice(0, idParts).join(':');
  const [, jsonKey, versionStage, versionId] = parts.slice(idParts);
  return {
    id,
    jsonKey: jsonKey || undefined,
    versionStage: versionStage || undefined,
    versionId: versionId || undefined,
  };
}

/** Every string inside `value`, each once, after evaluating constant expressions. */
function strings(value: unknown, pseudo: Readonly<Record<string, string>>, out: string[] = []): string[] {
  const whole = literal(value, pseudo);
  if (whole !== undefined) {
    out.push(whole);
    return out;
  }
  if (Array.isArray(value)) for (const v of value) strings(v, pseudo, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, pseudo, out);
  return out;
}

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^@:]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** The pseudo parameters of a stack deployed to `account`/`region` (commercial partition). */
export function pseudoParameters(account: string, region: string): Record<string, string> {
  return {
    'AWS::AccountId': account,
    'AWS::Region': region,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
}

/**
 * What a deploy of these templates reads from outside itself: dynamic references and SSM-typed
 * parameters, container secrets, images and imports. `exports` maps export names of every stack of
 * the assembly to that stack, so a missing import names the deploy that creates it.
 */
export function externalFacts(
  templates: readonly TemplateJson[],
  pseudo: Readonly<Record<string, string>>,
  exports: Readonly<Record<string, string>> = {},
): Required<Pick<TemplateFacts, 'references' | 'images' | 'imports'>> {
  const refs = new Map<string, TemplateReference & { where: string[] }>();
  const add = (ref: Omit<TemplateReference, 'where'>, where: string) => {
    const key = JSON.stringify([ref.service, ref.id, ref.jsonKey, ref.versionStage, ref.versionId]);
    const found = refs.get(key);
    if (found) {
      if (!found.where.includes(where)) found.where.push(where);
    } else refs.set(key, { ...ref, where: [where] });
  };
  const images = new Map<string, TemplateImage & { where: string[] }>();
  const imports = new Set<string>();
  for (const template of templates) {
    const resources = template.Resources ?? {};
    // Secrets this template creates, by logical id and by name: those exist only after its deploy.
    const ownSecrets = new Map<string, string>();
    for (const [id, r] of Object.entries(resources))
      if (r.Type === 'AWS::SecretsManager::Secret') {
        const name = literal(r.Properties?.Name, pseudo);
        if (name) ownSecrets.set(id, name);
      }
    const ownNames = new Set(ownSecrets.values());
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      // The bootstrap version parameter is what the bootstrap check reads.
      if (name === 'BootstrapVersion' || !/^AWS::SSM::Parameter::Value</.test(p.Type ?? '')) continue;
      const id = literal(p.Default, pseudo);
      if (id) add({ service: 'ssm', id, createdByStack: false }, `parameter ${name}`);
    }
    const visit = (value: unknown, where: string): void => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const imported = (value as Record<string, unknown>)['Fn::ImportValue'];
        if (imported !== undefined) {
          const name = literal(imported, pseudo);
          if (name) imports.add(name);
        }
      }
      for (const text of strings(value, pseudo))
        for (const m of text.matchAll(DYNAMIC_REFERENCE)) {
          const service = m[1] as TemplateReference['service'];
          if (service === 'secretsmanager') {
            const ref = secretReference(m[2]);
            add({ service, ...ref, createdByStack: ownNames.has(ref.id) }, where);
          } else {
            const [id, version] = m[2].split(':');
            add({ service, id, versionStage: version, createdByStack: false }, where);
          }
        }
      if (value && typeof value === 'object')
        for (const v of Object.values(value)) if (v && typeof v === 'object') visit(v, where);
    };
    for (const [id, r] of Object.entries(resources)) {
      visit(r.Properties, id);
      if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
      for (const c of (r.Properties?.ContainerDefinitions ?? []) as Record<string, unknown>[]) {
        const uri = literal(c.Image, pseudo);
        if (uri) {
          const m = ECR_IMAGE.exec(uri);
          const found = images.get(uri);
          if (found) found.where.push(id);
          else
            images.set(uri, {
              uri,
              where: [id],
              ...(m ? { account: m[1], region: m[2], repository: m[3], tag: m[4], digest: m[5] } : {}),
            });
        }
        // ECS reads container secrets when a task starts: `<secret>:<json-key>::` (ECS developer guide).
        for (const s of (c.Secrets ?? []) as { ValueFrom?: unknown }[]) {
          const from = s.ValueFrom as { 'Fn::Join'?: [string, unknown[]] } | string | undefined;
          const parts = typeof from === 'object' ? from['Fn::Join']?.[1] : undefined;
          const ref = (parts?.[0] as { Ref?: string } | undefined)?.Ref;
          const rest = parts?.slice(1).map((p) => literal(p, pseudo));
          if (ref && ownSecrets.has(ref) && rest?.every((p) => p !== undefined)) {
            const [, jsonKey, versionStage, versionId] = rest.join('').split(':');
            add(
              {
                service: 'secretsmanager',
                id: ownSecrets.get(ref)!,
                jsonKey: jsonKey || undefined,
                versionStage: versionStage || undefined,
                versionId: versionId || undefined,
                createdByStack: true,
              },
              id,
            );
          } else {
            const text = literal(from, pseudo);
            if (text?.startsWith('arn:aws:secretsmanager:'))
              add({ service: 'secretsmanager', ...secretReference(text), createdByStack: false }, id);
            else if (text)
              add(
                {
                  service: 'ssm',
                  id: text.replace(/^arn:aws:ssm:[^:]*:\d*:parameter/, ''),
                  createdByStack: false,
                },
                id,
              );
          }
        }
      }
    }
  }
  return {
    references: [...refs.values()],
    images: [...images.values()],
    imports: [...imports].map((name) => ({ name, exportedBy: exports[name] })),
  };
}

/** Reads the facts from one stack template and the bootstrap version its assembly requires. */
export function factsFromTemplate(template: TemplateJson, requiredBootstrapVersion: number): TemplateFacts {
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
  const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as TemplateJson;
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
  // Every template of this environment (its stack and its registry stack: same account and
  // region), and the exports of every stack of the app, to name who creates a missing import.
  const stacks = Object.entries(manifest.artifacts ?? {})
    .map(([id, a]) => ({ id, ...(a as StackArtifact) }))
    .filter((a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile);
  const exports: Record<string, string> = {};
  const ours: TemplateJson[] = [];
  for (const a of stacks) {
    const template = read(path.join(dir, a.properties!.templateFile!));
    const name = a.properties?.stackName ?? a.id;
    for (const o of Object.values(template.Outputs ?? {}))
      if (typeof o.Export?.Name === 'string') exports[o.Export.Name] = name;
    if (a.environment === `aws://${env.account}/${env.region}`) ours.push(template);
  }
  const main = read(file);
  return {
    ...factsFromTemplate(main, required),
    ...externalFacts(ours.length > 0 ? ours : [main], pseudoParameters(env.account, env.region), exports),
  };
}

/** A stack artifact of the cloud assembly manifest, as far as preflight reads it. */
interface StackArtifact {
  readonly type?: string;
  readonly environment?: string;
  readonly properties?: { templateFile?: string; stackName?: string; requiresBootstrapStackVersion?: number };
}
