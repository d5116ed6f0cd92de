import { Match } from 'aws-cdk-lib/assertions';
import { production, staging } from '../../environments';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

const configs = { staging, production };

describe.each(ENVIRONMENT_NAMES)('%s network', (name) => {
  const { template } = synthesized(name);
  const config = configs[name];

  test('the VPC has the configured CIDR', () => {
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.network.cidr });
  });

  test('public, private and isolated subnets span exactly the configured zones', () => {
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
    expect(subnets).toHaveLength(3 * config.network.availabilityZones.length);
    const zones = new Set(subnets.map((s) => s.Properties.AvailabilityZone));
    expect([...zones].sort()).toEqual([...config.network.availabilityZones].sort());
  });

  test('no subnet hands out public IPs', () => {
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).not.toBe(true);
    }
  });

  test('NAT gateways follow the environment config', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', config.network.natGateways);
  });

  test('flow logs capture all traffic into a log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: config.network.flowLogRetentionDays,
    });
  });

  test('the default security group is restricted', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('no security group admits the internet', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    for (const group of Object.values(groups)) {
      for (const rule of group.Properties.SecurityGroupIngress ?? []) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).not.toBe('::/0');
      }
    }
    template.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', { CidrIp: '0.0.0.0/0' }, 0);
  });

  test('the account, region and zones come from config, with no lookups', () => {
    const { stack } = synthesized(name);
    expect(stack.account).toBe(config.account);
    expect(stack.region).toBe('eu-west-1');
    expect(stack.availabilityZones).toEqual(config.network.availabilityZones);
    template.hasResourceProperties('AWS::EC2::Subnet', {
      AvailabilityZone: Match.stringLikeRegexp('^eu-west-1[abc]$'),
    });
  });
});
