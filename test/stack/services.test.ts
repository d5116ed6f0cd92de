import { Match, Template } from 'aws-cdk-lib/assertions';
import { production, staging } from '../../environments';
import { protections } from '../../lib/deletion-protection';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

const configs = { staging, production };

function service(template: Template, serviceName: string) {
  const found = Object.values(
    template.findResources('AWS::ECS::Service', { Properties: { ServiceName: serviceName } }),
  );
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

function taskDefinition(template: Template, family: string) {
  const found = Object.values(
    template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: family } }),
  );
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

describe.each(ENVIRONMENT_NAMES)('%s cluster and services', (name) => {
  const { template } = synthesized(name);
  const config = configs[name];

  test('the cluster keeps the runbook name and has Container Insights', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: `clever-better-${name}`,
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  test.each([
    ['clever-better-bot', 'bot'],
    ['clever-better-ml', 'ml'],
  ] as const)('task family %s has the configured CPU and memory', (family, key) => {
    const td = taskDefinition(template, family);
    expect(td.Cpu).toBe(String(config[key].cpu));
    expect(td.Memory).toBe(String(config[key].memoryMiB));
    expect(td.RequiresCompatibilities).toEqual(['FARGATE']);
  });

  test.each([
    ['clever-better-bot', '/ecs/clever-better-bot', 'bot'],
    ['clever-better-ml', '/ecs/clever-better-ml', 'ml'],
  ] as const)('%s logs to %s with retention and runs the pinned image', (family, logGroup, key) => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: logGroup,
      RetentionInDays: config.logRetentionDays,
    });
    const [container] = taskDefinition(template, family).ContainerDefinitions;
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    const { imageTag, imageDigest } = config[key];
    expect(JSON.stringify(container.Image)).toContain(
      `.dkr.ecr.${config.region}.",{"Ref":"AWS::URLSuffix"},"/${family}${imageDigest ? `@${imageDigest}` : `:${imageTag}`}"`,
    );
  });

  test('containers are locked down: read-only root, not privileged, no AWS keys in the environment', () => {
    for (const td of Object.values(template.findResources('AWS::ECS::TaskDefinition'))) {
      for (const c of td.Properties.ContainerDefinitions) {
        expect(c.ReadonlyRootFilesystem).toBe(true);
        expect(c.Privileged).not.toBe(true);
        const envNames = (c.Environment ?? []).map((e: { Name: string }) => e.Name);
        expect(envNames).not.toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID']));
        expect(envNames.some((n: string) => /PASSWORD|SECRET_KEY|APP_KEY/.test(n))).toBe(false);
      }
    }
  });

  test('the bot gets Betfair and database credentials as ECS secrets', () => {
    const [bot] = taskDefinition(template, 'clever-better-bot').ContainerDefinitions;
    const secrets = Object.fromEntries(
      bot.Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, JSON.stringify(s.ValueFrom)]),
    );
    expect(Object.keys(secrets).sort()).toEqual([
      'BETFAIR_APP_KEY',
      'BETFAIR_PASSWORD',
      'BETFAIR_USERNAME',
      'DB_PASSWORD',
      'DB_USERNAME',
    ]);
    expect(secrets.BETFAIR_APP_KEY).toContain(':app_key::');
    expect(secrets.BETFAIR_APP_KEY).toContain('SecretsBetfair');
    expect(secrets.DB_PASSWORD).toContain('SecretsBotDatabase');
  });

  test('the bot reads the live-trading flag at run time: given the config secret name and read access, never injected', () => {
    const [bot] = taskDefinition(template, 'clever-better-bot').ContainerDefinitions;
    expect(bot.Environment).toContainEqual({
      Name: 'CONFIG_SECRET_ID',
      Value: `clever-better/${name}/config`,
    });
    expect(JSON.stringify(bot.Secrets)).not.toContain('SecretsConfig');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
            Resource: { Ref: Match.stringLikeRegexp('^SecretsConfig') },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^ServicesBotTaskTaskRole') }],
    });
  });

  test('ml-service gets database credentials but no Betfair credentials', () => {
    const [ml] = taskDefinition(template, 'clever-better-ml').ContainerDefinitions;
    const names = ml.Secrets.map((s: { Name: string }) => s.Name).sort();
    expect(names).toEqual(['DB_PASSWORD', 'DB_USERNAME']);
  });

  test('the bot has no DesiredCount, so a deploy never undoes an emergency scale-to-zero', () => {
    expect(service(template, 'bot')).not.toHaveProperty('DesiredCount');
  });

  test('the bot deploys stop-first: two bots never trade at once', () => {
    expect(service(template, 'bot').DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 0,
      MaximumPercent: 100,
    });
  });

  test('both services roll back on the deployment circuit breaker', () => {
    for (const svc of ['bot', 'ml-service']) {
      expect(service(template, svc).DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({
        Enable: true,
        Rollback: true,
      });
    }
  });

  test('ml-service keeps capacity during deploys and autoscales from the configured count', () => {
    const ml = service(template, 'ml-service');
    expect(ml.DeploymentConfiguration).toMatchObject({ MinimumHealthyPercent: 100, MaximumPercent: 200 });
    expect(ml).not.toHaveProperty('DesiredCount');
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: config.ml.desiredCount,
      MaxCapacity: config.ml.maxCount,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: config.ml.targetCpuUtilizationPercent,
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      }),
    });
  });

  test('services run in private subnets without public IPs on the latest Fargate platform', () => {
    for (const svc of ['bot', 'ml-service']) {
      const props = service(template, svc);
      expect(props.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
      for (const subnet of props.NetworkConfiguration.AwsvpcConfiguration.Subnets)
        expect(subnet.Ref).toMatch(/^NetworkVpcPrivateSubnet/);
      expect(props.PlatformVersion ?? 'LATEST').toBe('LATEST');
    }
  });
});

describe.each(ENVIRONMENT_NAMES)('%s internal load balancer', (name) => {
  const { template } = synthesized(name);
  const config = configs[name];

  test('is internal, drops invalid headers and keeps access logs', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
      ]),
    });
  });

  test('has deletion protection exactly where configured', () => {
    const [alb] = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    const attr = alb.Properties.LoadBalancerAttributes.find(
      (a: { Key: string }) => a.Key === 'deletion_protection.enabled',
    );
    expect(attr?.Value === 'true').toBe(protections(config).loadBalancer);
  });

  test('answers /health itself with 200', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/health'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '200' }) }],
      Priority: 1,
    });
  });

  test('routes /bot to the bot and the rest to ml-service', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/bot', '/bot/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^ServicesBotTargets') } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^ServicesMlTargets') } }],
    });
  });

  test.each([
    ['bot', 8080],
    ['ml', 8000],
  ] as const)('the %s target group health-checks /health and drains quickly', (_svc, port) => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: port,
      TargetType: 'ip',
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 5,
      HealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }]),
    });
  });

  test('its security group admits HTTP from inside the VPC only', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Internal ALB: HTTP from inside the VPC only',
      SecurityGroupIngress: [Match.objectLike({ CidrIp: config.network.cidr, FromPort: 80, ToPort: 80 })],
    });
  });

  test('its access-log bucket is private, encrypted and TLS-only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe.each(ENVIRONMENT_NAMES)('%s outputs', (name) => {
  const { template } = synthesized(name);

  test.each([
    'ClusterName',
    'BotServiceName',
    'MlServiceName',
    'BotConfiguredCount',
    'DatabaseEndpoint',
    'BetfairSecretArn',
    'DatabaseSecretArn',
    'ConfigSecretArn',
    'AlbDnsName',
    'OnCallTopicArn',
  ])('replaces terraform output with %s', (output) => {
    template.hasOutput(output, { Value: Match.anyValue() });
  });

  test('the on-call topic accepts publishing over TLS only and mails the configured address', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: configs[name].alarmEmail,
    });
  });
});
