import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ignoreCfnLint } from './compliance';

/** Props of {@link Network}. */
export interface NetworkProps {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /** Availability zones to span; explicit so synth needs no lookup. */
  readonly availabilityZones: readonly string[];
  /** Number of NAT gateways (1 to the number of AZs). */
  readonly natGateways: number;
  /** Days flow logs are kept. */
  readonly flowLogRetention: logs.RetentionDays;
  /** What happens to the flow-log group when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The VPC: public subnets for the NAT gateways only, private subnets with egress for the services
 * and Lambdas (the bot must reach Betfair), isolated subnets for the database. Flow logs on, the
 * default security group closed, no subnet hands out public IPs.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: props.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        // Only NAT gateways (with their own EIPs) live here: nothing needs an auto-assigned public IP (EC2.15).
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    const pinnedZones =
      'Zones are pinned in environments/ on purpose: synth must run offline with no AZ lookup, ' +
      'and the config validation checks each zone belongs to the region';
    for (const subnet of [
      ...this.vpc.publicSubnets,
      ...this.vpc.privateSubnets,
      ...this.vpc.isolatedSubnets,
    ]) {
      const cfnSubnet = subnet.node.defaultChild as ec2.CfnSubnet;
      Validations.of(cfnSubnet).acknowledge({ id: 'CloudFormation-Validate::W3010', reason: pinnedZones });
      ignoreCfnLint(cfnSubnet, 'W3010', pinnedZones);
    }
    for (const subnet of this.vpc.publicSubnets) {
      Validations.of(subnet.node.findChild('DefaultRoute')).acknowledge({
        id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
        reason:
          'Only the public subnets route to the internet gateway, and they hold only the NAT gateways through ' +
          'which the bot reaches Betfair; services and the database have no such route',
      });
    }
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }
}
