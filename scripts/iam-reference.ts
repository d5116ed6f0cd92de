/**
 * IAM reference check (issue 11): every IAM policy document in a synthesized template, with its
 * CloudFormation intrinsics resolved into plausible values of the right shape (ARNs for `Arn`
 * attributes, names or ARNs for `Ref` as each resource type returns), so parliament's dataset can
 * match each action against the resource types the ARN names. Pure functions: `scripts/validate.ts`
 * runs parliament (`scripts/iam-reference.py`) on what `policiesOf` returns and judges the findings
 * with `judge`; the tests call these directly.
 */

/** A CloudFormation template, as far as this check reads it. */
export interface IamTemplate {
  Parameters?: Record<string, { Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
}

/** One policy document to check, resolved. */
export interface PolicyDocument {
  readonly stack: string;
  /** Construct path (or logical ID) of the resource holding it; for role inline policies, `/<PolicyName>` added. */
  readonly path: string;
  readonly document: unknown;
}

/** One parliament finding on one document. */
export interface IamFinding {
  readonly stack: string;
  readonly path: string;
  /** Parliament issue code, e.g. `UNKNOWN_ACTION`, `RESOURCE_MISMATCH`. */
  readonly issue: string;
  /** Parliament's detail and location, as JSON text. */
  readonly detail: string;
  readonly location: string;
}

/** An explained exception: a parliament finding accepted with a reason and a reference. */
export interface IamException {
  /** Parliament issue code the finding has. */
  readonly issue: string;
  /** The IAM action the finding names (e.g. `ecs:StopServiceDeployment`), matched case-insensitively. */
  readonly action: string;
  /** Why the finding is wrong or accepted. */
  readonly reason: string;
  /** The AWS document that shows it (Service Authorization Reference page). */
  readonly reference: string;
}

/** Values the pseudo parameters resolve to when the template does not pin them. */
export interface ResolveContext {
  readonly stack: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default '111111111111' */
  readonly account?: string;
}

interface Ctx {
  readonly template: IamTemplate;
  readonly stack: string;
  readonly region: string;
  readonly account: string;
}

/** How a resource type answers `Ref` and `Fn::GetAtt`, given its name (or logical ID). */
interface Shape {
  readonly ref: (name: string, c: Ctx) => string;
  readonly atts: Record<string, (name: string, c: Ctx) => string>;
}

const arn = (service: string, rest: string, c: Ctx, global = false) =>
  `arn:aws:${service}:${global ? '' : c.region}:${c.account}:${rest}`;

/**
 * Return values per resource type, from each type's "Return values" section in the CloudFormation
 * resource reference (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html).
 * A type or attribute missing here is an error naming it, so a new one gets a real shape, not a guess.
 */
const SHAPES: Record<string, Shape> = {
  'AWS::IAM::Role': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('iam', `role/${n}`, c, true), RoleId: () => 'AROAEXAMPLEROLEID0000' },
  },
  'AWS::IAM::ManagedPolicy': {
    ref: (n, c) => arn('iam', `policy/${n}`, c, true),
    atts: { PolicyArn: (n, c) => arn('iam', `policy/${n}`, c, true) },
  },
  'AWS::KMS::Key': {
    ref: () => '0123abcd-12ab-34cd-56ef-1234567890ab',
    atts: { Arn: (_n, c) => arn('kms', 'key/0123abcd-12ab-34cd-56ef-1234567890ab', c) },
  },
  'AWS::Lambda::Function': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('lambda', `function:${n}`, c) },
  },
  'AWS::Logs::LogGroup': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('logs', `log-group:${n}:*`, c) },
  },
  'AWS::ECS::Cluster': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('ecs', `cluster/${n}`, c) },
  },
  'AWS::ECS::Service': {
    ref: (n, c) => arn('ecs', `service/cluster/${n}`, c),
    atts: { ServiceArn: (n, c) => arn('ecs', `service/cluster/${n}`, c), Name: (n) => n },
  },
  'AWS::ECS::TaskDefinition': {
    ref: (n, c) => arn('ecs', `task-definition/${n}:1`, c),
    atts: { TaskDefinitionArn: (n, c) => arn('ecs', `task-definition/${n}:1`, c) },
  },
  'AWS::ECR::Repository': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('ecr', `repository/${n}`, c) },
  },
  'AWS::SNS::Topic': {
    ref: (n, c) => arn('sns', n, c),
    atts: { TopicArn: (n, c) => arn('sns', n, c), TopicName: (n) => n },
  },
  'AWS::SQS::Queue': {
    ref: (n, c) => `https://sqs.${c.region}.amazonaws.com/${c.account}/${n}`,
    atts: { Arn: (n, c) => arn('sqs', n, c), QueueName: (n) => n },
  },
  'AWS::S3::Bucket': {
    ref: (n) => n,
    atts: { Arn: (n) => `arn:aws:s3:::${n}` },
  },
  'AWS::SecretsManager::Secret': {
    ref: (n, c) => arn('secretsmanager', `secret:${n}-AbCdEf`, c),
    atts: { Id: (n, c) => arn('secretsmanager', `secret:${n}-AbCdEf`, c) },
  },
  'AWS::SSM::Parameter': {
    ref: (n) => n,
    atts: {},
  },
  'AWS::DynamoDB::Table': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('dynamodb', `table/${n}`, c) },
  },
  'AWS::StepFunctions::StateMachine': {
    ref: (n, c) => arn('states', `stateMachine:${n}`, c),
    atts: { Arn: (n, c) => arn('states', `stateMachine:${n}`, c), Name: (n) => n },
  },
  'AWS::Events::Rule': {
    ref: (n) => n,
    atts: { Arn: (n, c) => arn('events', `rule/${n}`, c) },
  },
  'AWS::EC2::VPC': {
    ref: () => 'vpc-0123456789abcdef0',
    atts: { DefaultSecurityGroup: () => 'sg-0123456789abcdef0' },
  },
  'AWS::EC2::SecurityGroup': {
    ref: () => 'sg-0123456789abcdef1',
    atts: { GroupId: () => 'sg-0123456789abcdef1' },
  },
};

const PSEUDO: Record<string, (c: Ctx) => string> = {
  'AWS::Partition': () => 'aws',
  'AWS::Region': (c) => c.region,
  'AWS::AccountId': (c) => c.account,
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::StackName': (c) => c.stack,
  'AWS::StackId': (c) => arn('cloudformation', `stack/${c.stack}/00000000-0000-0000-0000-000000000000`, c),
  'AWS::NoValue': () => '',
};

/** The physical name a resource would have: its literal `*Name` property, else its logical ID in lower case. */
function nameOf(logicalId: string, c: Ctx): string {
  const props = c.template.Resources[logicalId]?.Properties ?? {};
  for (const [k, v] of Object.entries(props)) if (/Name$/.test(k) && typeof v === 'string') return v;
  return logicalId.toLowerCase();
}

function shapeOf(logicalId: string, c: Ctx, what: string): [Shape, string] {
  const res = c.template.Resources[logicalId];
  if (!res)
    throw new Error(`${c.stack}: ${what} names resource ${logicalId}, which the template does not have`);
  const shape = SHAPES[res.Type];
  if (!shape) {
    throw new Error(
      `${c.stack}: ${what} on ${logicalId} of type ${res.Type}, which the IAM reference check cannot resolve; ` +
        'add its return values to SHAPES in scripts/iam-reference.ts',
    );
  }
  return [shape, nameOf(logicalId, c)];
}

function refValue(name: string, c: Ctx): string {
  if (PSEUDO[name]) return PSEUDO[name](c);
  const param = c.template.Parameters?.[name];
  if (param) return typeof param.Default === 'string' ? param.Default : `param-${name.toLowerCase()}`;
  const [shape, n] = shapeOf(name, c, `Ref`);
  return shape.ref(n, c);
}

function getAtt(id: string, att: string, c: Ctx): string {
  const [shape, n] = shapeOf(id, c, `Fn::GetAtt ${att}`);
  const fn = shape.atts[att];
  if (!fn) {
    throw new Error(
      `${c.stack}: Fn::GetAtt ${id}.${att}: attribute ${att} of ${c.template.Resources[id].Type} is unknown to the ` +
        'IAM reference check; add it to SHAPES in scripts/iam-reference.ts',
    );
  }
  return fn(n, c);
}

function str(v: unknown, c: Ctx, where: string): string {
  const r = resolveIn(v, c);
  if (typeof r !== 'string' && typeof r !== 'number') {
    throw new Error(`${c.stack}: ${where} needs a string, got ${JSON.stringify(r)}`);
  }
  return String(r);
}

function resolveIn(v: unknown, c: Ctx): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveIn(x, c));
  if (v === null || typeof v !== 'object') return v;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const [fn] = keys;
    const arg = obj[fn];
    switch (fn) {
      case 'Ref':
        return refValue(String(arg), c);
      case 'Fn::GetAtt': {
        const [id, ...att] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
        return getAtt(id, att.join('.'), c);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolveIn(parts, c) as unknown[]).map((p) => str(p, c, 'Fn::Join')).join(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_whole, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in vars) return str(vars[name], c, `Fn::Sub variable ${name}`);
          const dot = name.indexOf('.');
          return dot > 0 && !name.startsWith('AWS::')
            ? getAtt(name.slice(0, dot), name.slice(dot + 1), c)
            : refValue(name, c);
        });
      }
      case 'Fn::Select': {
        const [i, list] = arg as [unknown, unknown];
        return (resolveIn(list, c) as unknown[])[Number(resolveIn(i, c))];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return str(text, c, 'Fn::Split').split(sep);
      }
      case 'Fn::FindInMap': {
        const [m, k1, k2] = (arg as unknown[]).map((x) => str(x, c, 'Fn::FindInMap'));
        return resolveIn(c.template.Mappings?.[m]?.[k1]?.[k2], c);
      }
      // The policy as deployed when the condition holds: both branches are CDK-written, the true one is the live one.
      case 'Fn::If':
        return resolveIn((arg as unknown[])[1], c);
      default:
        throw new Error(
          `${c.stack}: intrinsic ${fn} in a policy document is not resolved by scripts/iam-reference.ts`,
        );
    }
  }
  return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, resolveIn(x, c)]));
}

/** Resolves every intrinsic in `value` into a plain value of the shape CloudFormation would give. */
export function resolveIntrinsics(value: unknown, template: IamTemplate, context: ResolveContext): unknown {
  return resolveIn(value, {
    template,
    stack: context.stack,
    region: context.region ?? 'eu-west-1',
    account: context.account ?? '111111111111',
  });
}

/** Every IAM policy document of a template (IAM::Policy, IAM::ManagedPolicy, IAM::Role inline), resolved. */
export function policiesOf(template: IamTemplate, context: ResolveContext): PolicyDocument[] {
  const out: PolicyDocument[] = [];
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    const path = String(res.Metadata?.['aws:cdk:path'] ?? logicalId).replace(/\/Resource$/, '');
    const props = res.Properties ?? {};
    const add = (p: string, doc: unknown) =>
      out.push({ stack: context.stack, path: p, document: resolveIntrinsics(doc, template, context) });
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy')
      add(path, props.PolicyDocument);
    if (res.Type === 'AWS::IAM::Role') {
      for (const p of (props.Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[]) {
        add(`${path}/${String(p.PolicyName)}`, p.PolicyDocument);
      }
    }
  }
  return out;
}

/** The IAM actions a finding is about (parliament puts them in detail or location). */
export function actionsOf(f: Pick<IamFinding, 'detail' | 'location'>): string[] {
  const found = new Set<string>();
  for (const text of [f.detail, f.location]) {
    for (const m of text.matchAll(/"(?:action|string)":\s*"([a-z0-9-]+:[A-Za-z0-9*]+)"/g)) {
      found.add(m[1].toLowerCase());
    }
    // RESOURCE_STAR and similar name their actions as a plain JSON list.
    try {
      const list: unknown = JSON.parse(text);
      if (Array.isArray(list))
        for (const a of list)
          if (typeof a === 'string' && /^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(a)) found.add(a.toLowerCase());
    } catch {
      // not JSON: the patterns above are all there is
    }
  }
  return [...found];
}

/** Which findings an exception explains, which are unexplained, and which exceptions explain nothing. */
export function judge(
  findings: readonly IamFinding[],
  exceptions: readonly IamException[],
): {
  unexplained: IamFinding[];
  accepted: { exception: IamException; findings: IamFinding[] }[];
  unused: IamException[];
} {
  const accepted = exceptions.map((exception) => ({ exception, findings: [] as IamFinding[] }));
  const unexplained: IamFinding[] = [];
  for (const f of findings) {
    // Explained only when every action the finding names has an exception for this issue.
    const hits = actionsOf(f).map((action) =>
      accepted.find((a) => a.exception.issue === f.issue && a.exception.action.toLowerCase() === action),
    );
    if (hits.length === 0 || hits.some((h) => !h)) {
      unexplained.push(f);
      continue;
    }
    for (const h of new Set(hits)) h!.findings.push(f);
  }
  return {
    unexplained,
    accepted: accepted.filter((a) => a.findings.length > 0),
    unused: accepted.filter((a) => a.findings.length === 0).map((a) => a.exception),
  };
}
