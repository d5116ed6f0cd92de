import { appTemplate } from './fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ref = (id: string) => ({ Ref: id });

/**
 * appTemplate() plus what the project rules look at: the Betfair and database secrets (generated
 * values), a VPC with subnets and a DB subnet group the database, services, load balancer and
 * migration function sit in, named alarms, a fixed-name log group and the migrations resource.
 * Shaped like ProductionStack's synthesized template.
 */
export function ruleTemplate(): Json {
  const t = appTemplate();
  const r = t.Resources;
  r.SecretsBetfair8559DB3B = {
    Type: 'AWS::SecretsManager::Secret',
    Properties: {
      Name: 'clever-better/production/betfair',
      GenerateSecretString: {
        GenerateStringKey: 'password',
        SecretStringTemplate: '{"app_key":"REPLACE_ME","username":"REPLACE_ME"}',
      },
    },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  };
  r.SecretsDatabase1766CB05 = {
    Type: 'AWS::SecretsManager::Secret',
    Properties: {
      Name: 'clever-better/production/database',
      GenerateSecretString: {
        GenerateStringKey: 'password',
        PasswordLength: 30,
        SecretStringTemplate: '{"username":"clever_better_admin"}',
      },
    },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  };
  r.SecretsDatabaseAttachmentE4F5A6B7 = {
    Type: 'AWS::SecretsManager::SecretTargetAttachment',
    Properties: {
      SecretId: ref('SecretsDatabase1766CB05'),
      TargetId: ref('DatabaseInstanceAA8A5FDE'),
      TargetType: 'AWS::RDS::DBInstance',
    },
  };
  r.NetworkVpc7FB7348F = { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.1.0.0/16' } };
  const subnets = ['10.1.0.0/24', '10.1.1.0/24'].map((cidr, i) => {
    const id = `NetworkVpcPrivateSubnet${i + 1}Subnet00${i}`;
    r[id] = {
      Type: 'AWS::EC2::Subnet',
      Properties: {
        VpcId: ref('NetworkVpc7FB7348F'),
        CidrBlock: cidr,
        AvailabilityZone: `eu-west-1${'ab'[i]}`,
      },
    };
    return id;
  });
  r.NetworkVpcPrivateSubnet1RouteTable0A1B2C3D = {
    Type: 'AWS::EC2::RouteTable',
    Properties: { VpcId: ref('NetworkVpc7FB7348F') },
  };
  r.DatabaseInstanceSubnetGroupDE121BB6 = {
    Type: 'AWS::RDS::DBSubnetGroup',
    Properties: { DBSubnetGroupDescription: 'db', SubnetIds: subnets.map(ref) },
    DeletionPolicy: 'Retain',
  };
  r.DatabaseInstanceAA8A5FDE.Properties.DBSubnetGroupName = ref('DatabaseInstanceSubnetGroupDE121BB6');
  r.DatabaseInstanceAA8A5FDE.Properties.MasterUsername = {
    'Fn::Join': [
      '',
      ['{{resolve:secretsmanager:', ref('SecretsDatabase1766CB05'), ':SecretString:username::}}'],
    ],
  };
  r.ServicesAlbSecurityGroupC89830CD.Properties.VpcId = ref('NetworkVpc7FB7348F');
  r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupIngress[0].CidrIp = '10.1.0.0/16';
  r.ServicesBotSecurityGroup46B32024.Properties.VpcId = ref('NetworkVpc7FB7348F');
  r.ServicesAlbEE1BF5FE = {
    Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    Properties: { Scheme: 'internal', Subnets: subnets.map(ref) },
  };
  const awsvpc = {
    AwsvpcConfiguration: {
      AssignPublicIp: 'DISABLED',
      SecurityGroups: [{ 'Fn::GetAtt': ['ServicesBotSecurityGroup46B32024', 'GroupId'] }],
      Subnets: subnets.map(ref),
    },
  };
  r.ServicesBotService0E8F015B.Properties.NetworkConfiguration = awsvpc;
  r.ServicesMlService25D5C526.Properties.NetworkConfiguration = awsvpc;
  r.MigrationsFunction052A01C8 = {
    Type: 'AWS::Lambda::Function',
    Properties: {
      Description: 'Runs golang-migrate compatible database migrations',
      Runtime: 'nodejs24.x',
      Role: 'arn:aws:iam::222222222222:role/x',
      Code: { S3Bucket: 'cdk-assets', S3Key: 'bbbb.zip' },
      VpcConfig: { SubnetIds: subnets.map(ref) },
    },
  };
  r.Migrations23B444C5 = {
    Type: 'Custom::DatabaseMigrations',
    Properties: { ServiceToken: 'x', LatestVersion: '20240201090000', MigrationsHash: 'aaa' },
  };
  r.ServicesBotLogsB4A7E746 = {
    Type: 'AWS::Logs::LogGroup',
    Properties: { LogGroupName: '/ecs/clever-better-bot', RetentionInDays: 90 },
    DeletionPolicy: 'RetainExceptOnCreate',
    UpdateReplacePolicy: 'Retain',
  };
  r.MonitoringBotLossLimit1A2B3C4D.Properties.AlarmName =
    'clever-better-production-emergency-stop-loss-limit';
  r.MonitoringBotLossLimit1A2B3C4D.Properties.ActionsEnabled = true;
  r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0].Secrets = [
    { Name: 'BETFAIR', ValueFrom: ref('SecretsBetfair8559DB3B') },
  ];
  return t;
}
