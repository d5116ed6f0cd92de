import { CfnTemplate } from '../../lib/diff';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The bot image reference exactly as the CDK synthesizes it for an ECR repository in the stack. */
export function ecrImage(repositoryId: string, tag: string): Json {
  const repoArn = { 'Fn::GetAtt': [repositoryId, 'Arn'] };
  return {
    'Fn::Join': [
      '',
      [
        { 'Fn::Select': [4, { 'Fn::Split': [':', repoArn] }] },
        '.dkr.ecr.',
        { 'Fn::Select': [3, { 'Fn::Split': [':', repoArn] }] },
        '.',
        { Ref: 'AWS::URLSuffix' },
        '/',
        { Ref: repositoryId },
        `:${tag}`,
      ],
    ],
  };
}

/**
 * A small template shaped like ProductionStack: the resources the risk summary looks at, with the
 * app's logical-id style and physical names, plus an emergency stop wired the way the operations
 * issue builds it (function, role, policy, alarm, permission).
 */
export function appTemplate(): Json {
  return {
    Resources: {
      RegistryBotRepositoryC0DC0495: {
        Type: 'AWS::ECR::Repository',
        Properties: { RepositoryName: 'clever-better-bot', ImageTagMutability: 'IMMUTABLE' },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      },
      SecretsConfig4EDE2024: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: {
          Name: 'clever-better/production/config',
          SecretString: '{"live_trading_enabled":true}',
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      },
      DatabaseInstanceAA8A5FDE: {
        Type: 'AWS::RDS::DBInstance',
        Properties: {
          DBInstanceClass: 'db.r6g.large',
          DBName: 'clever_better',
          Engine: 'postgres',
          EngineVersion: '17.4',
          AllocatedStorage: '100',
          MultiAZ: true,
          StorageEncrypted: true,
        },
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
      },
      ServicesAlbSecurityGroupC89830CD: {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: 'Internal ALB',
          SecurityGroupIngress: [
            {
              CidrIp: '10.20.0.0/16',
              IpProtocol: 'tcp',
              FromPort: 80,
              ToPort: 80,
              Description: 'HTTP in VPC',
            },
          ],
        },
      },
      ServicesBotSecurityGroup46B32024: {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: 'bot',
          SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
        },
      },
      ServicesBotTaskTaskRole673A571D: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'ecs-tasks.amazonaws.com' },
                Action: 'sts:AssumeRole',
              },
            ],
          },
        },
      },
      ServicesBotTaskTaskRoleDefaultPolicy07609034: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'BotTaskRoleDefaultPolicy',
          Roles: [{ Ref: 'ServicesBotTaskTaskRole673A571D' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
                Resource: { Ref: 'SecretsConfig4EDE2024' },
              },
            ],
          },
        },
      },
      ServicesBotTaskC531FB33: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'clever-better-bot',
          Cpu: '512',
          Memory: '1024',
          TaskRoleArn: arn('ServicesBotTaskTaskRole673A571D'),
          ContainerDefinitions: [
            {
              Name: 'app',
              Essential: true,
              Image: ecrImage('RegistryBotRepositoryC0DC0495', 'v1.2.3'),
              Environment: [
                { Name: 'CLEVER_BETTER_ENV', Value: 'production' },
                { Name: 'CONFIG_SECRET_ID', Value: 'clever-better/production/config' },
              ],
            },
          ],
        },
      },
      ServicesBotService0E8F015B: {
        Type: 'AWS::ECS::Service',
        Properties: {
          ServiceName: 'bot',
          TaskDefinition: { Ref: 'ServicesBotTaskC531FB33' },
          DeploymentConfiguration: { MaximumPercent: 100, MinimumHealthyPercent: 0 },
        },
      },
      ServicesMlTaskF9C49D9D: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'clever-better-ml',
          Cpu: '2048',
          Memory: '4096',
          ContainerDefinitions: [{ Name: 'app', Image: ecrImage('RegistryMlRepository419D540C', 'v1.2.3') }],
        },
      },
      ServicesMlService25D5C526: {
        Type: 'AWS::ECS::Service',
        Properties: { ServiceName: 'ml-service', TaskDefinition: { Ref: 'ServicesMlTaskF9C49D9D' } },
      },
      ServicesMlTaskCountTarget9DD9E5B8: {
        Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
        Properties: {
          MinCapacity: 2,
          MaxCapacity: 4,
          ResourceId: {
            'Fn::Join': [
              '',
              [
                'service/',
                { Ref: 'ServicesClusterFAAA2B60' },
                '/',
                { 'Fn::GetAtt': ['ServicesMlService25D5C526', 'Name'] },
              ],
            ],
          },
          ScalableDimension: 'ecs:service:DesiredCount',
          ServiceNamespace: 'ecs',
        },
      },
      ServicesMlTaskCountTargetCpuScaling89B87EB0: {
        Type: 'AWS::ApplicationAutoScaling::ScalingPolicy',
        Properties: {
          PolicyType: 'TargetTrackingScaling',
          ScalingTargetId: { Ref: 'ServicesMlTaskCountTarget9DD9E5B8' },
          TargetTrackingScalingPolicyConfiguration: { TargetValue: 60 },
        },
      },
      OperationsEmergencyStopRoleB2B0A6C1: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: 'Emergency stop: scales the bot to zero, switches live trading off, cancels open bets',
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          },
        },
      },
      OperationsEmergencyStopRoleDefaultPolicy5C1A2B3D: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'EmergencyStopRoleDefaultPolicy',
          Roles: [{ Ref: 'OperationsEmergencyStopRoleB2B0A6C1' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'ecs:UpdateService',
                Resource: { Ref: 'ServicesBotService0E8F015B' },
              },
              {
                Effect: 'Allow',
                Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
                Resource: { Ref: 'SecretsConfig4EDE2024' },
              },
            ],
          },
        },
      },
      OperationsStopFunction4F1E2D3C: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Description: 'Emergency stop: scales the bot to zero, switches live trading off, cancels open bets',
          Role: arn('OperationsEmergencyStopRoleB2B0A6C1'),
          Runtime: 'nodejs24.x',
          Timeout: 120,
          ReservedConcurrentExecutions: 1,
          Code: { S3Bucket: 'cdk-assets', S3Key: 'aaaa.zip' },
        },
      },
      OperationsStopFunctionAlarmPermission9A8B7C6D: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: arn('OperationsStopFunction4F1E2D3C'),
          Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
          SourceAccount: '222222222222',
        },
      },
      MonitoringBotLossLimit1A2B3C4D: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: 'Net profit below the daily loss limit',
          Namespace: 'CleverBetter',
          MetricName: 'NetProfit',
          Threshold: -500,
          ComparisonOperator: 'LessThanThreshold',
          EvaluationPeriods: 1,
          AlarmActions: [arn('OperationsStopFunction4F1E2D3C'), { Ref: 'AlertingOnCall8D8B76F5' }],
        },
      },
    },
  };
}

/** A deep copy of `template` changed by `edit`, so each test states only its own change. */
export function changed(template: Json, edit: (resources: Json) => void): CfnTemplate {
  const copy = JSON.parse(JSON.stringify(template)) as Json;
  edit(copy.Resources);
  return copy;
}
