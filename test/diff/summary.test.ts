import { CfnTemplate, summarizeStack } from '../../lib/diff';
import { appTemplate, changed } from './fixtures';

const BASE = appTemplate();
const summarize = (after: CfnTemplate, allowDestructive = false) =>
  summarizeStack('ProductionStack', BASE, after, { allowDestructive }).summary;

describe('risk summary of a template pair', () => {
  test('identical templates: no change, nothing flagged, not blocked', () => {
    const s = summarize(changed(BASE, () => undefined));
    expect(s.changeCount).toBe(0);
    expect([s.removals, s.iamWidening, s.taskDefinitions, s.counts, s.emergencyStop, s.liveTrading]).toEqual([
      [],
      [],
      [],
      [],
      [],
      [],
    ]);
    expect(s.blocked).toBe(false);
  });

  describe('image bump', () => {
    // GIVEN the bot's pinned tag moves from v1.2.3 to v1.2.4
    const after = changed(BASE, (r) => {
      r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0].Image['Fn::Join'][1][7] = ':v1.2.4';
    });
    const s = summarize(after);

    test("names the bot's task definition and the tag from → to", () => {
      expect(s.taskDefinitions).toEqual([
        {
          service: 'bot',
          logicalId: 'ServicesBotTaskC531FB33',
          change: 'updated',
          imageTags: [{ container: 'app', from: 'v1.2.3', to: 'v1.2.4' }],
          details: [],
        },
      ]);
    });

    test('lists the task-definition replacement as not stateful and does not block', () => {
      expect(s.removals).toEqual([
        expect.objectContaining({ logicalId: 'ServicesBotTaskC531FB33', impact: 'replace', stateful: false }),
      ]);
      expect(s.destructive).toEqual([]);
      expect(s.blocked).toBe(false);
    });

    test('leaves the ML task definition out of it', () => {
      expect(s.taskDefinitions.map((t) => t.service)).toEqual(['bot']);
    });
  });

  test('other bot task-definition changes are named field by field', () => {
    const s = summarize(
      changed(BASE, (r) => {
        const td = r.ServicesBotTaskC531FB33.Properties;
        td.Cpu = '1024';
        td.ContainerDefinitions[0].Environment.push({ Name: 'LIVE_TRADING_OVERRIDE', Value: 'true' });
      }),
    );
    expect(s.taskDefinitions[0].details).toEqual([
      'container app: Environment LIVE_TRADING_OVERRIDE',
      'Cpu: 512 → 1024',
    ]);
  });

  describe('RDS instance class change', () => {
    const s = summarize(
      changed(BASE, (r) => {
        r.DatabaseInstanceAA8A5FDE.Properties.DBInstanceClass = 'db.r6g.xlarge';
      }),
    );

    test('is an in-place update of a stateful resource, with from → to', () => {
      expect(s.statefulUpdates).toEqual([
        {
          logicalId: 'DatabaseInstanceAA8A5FDE',
          type: 'AWS::RDS::DBInstance',
          details: ['DBInstanceClass: db.r6g.large → db.r6g.xlarge'],
        },
      ]);
    });

    test('is not destructive and does not block', () => {
      expect(s.removals).toEqual([]);
      expect(s.blocked).toBe(false);
    });
  });

  describe('RDS replacement', () => {
    // GIVEN a change CloudFormation can only make by creating a new database instance
    const after = changed(BASE, (r) => {
      r.DatabaseInstanceAA8A5FDE.Properties.DBName = 'trading';
    });

    test('fails the check: destructive, stateful, with the property that forces it and the old instance’s fate', () => {
      const s = summarize(after);
      expect(s.destructive).toEqual([
        {
          logicalId: 'DatabaseInstanceAA8A5FDE',
          type: 'AWS::RDS::DBInstance',
          stateful: true,
          impact: 'replace',
          causes: ['DBName'],
          fate: 'a new physical resource is created and the old one is snapshotted, then deleted',
        },
      ]);
      expect(s.blocked).toBe(true);
    });

    test('passes when destructive changes are allowed, still listed as destructive', () => {
      const s = summarize(after, true);
      expect(s.blocked).toBe(false);
      expect(s.destructive.map((d) => d.logicalId)).toEqual(['DatabaseInstanceAA8A5FDE']);
    });
  });

  test('fails the check when a renamed construct deletes the database (logical id change)', () => {
    const s = summarize(
      changed(BASE, (r) => {
        r.DatabaseInstanceRenamed = r.DatabaseInstanceAA8A5FDE;
        delete r.DatabaseInstanceAA8A5FDE;
      }),
    );
    expect(s.destructive).toEqual([
      expect.objectContaining({
        logicalId: 'DatabaseInstanceAA8A5FDE',
        impact: 'destroy',
        fate: 'deleted after a final snapshot',
      }),
    ]);
    expect(s.blocked).toBe(true);
  });

  test('fails the check when a retained repository leaves the stack, naming it as orphaned', () => {
    const s = summarize(
      changed(BASE, (r) => {
        delete r.RegistryBotRepositoryC0DC0495;
      }),
    );
    expect(s.destructive).toEqual([
      expect.objectContaining({ logicalId: 'RegistryBotRepositoryC0DC0495', impact: 'orphan' }),
    ]);
  });

  describe('security groups', () => {
    test('a new ingress rule open to the world is flagged as such', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.BotSshFromAnywhere = {
            Type: 'AWS::EC2::SecurityGroupIngress',
            Properties: {
              GroupId: { 'Fn::GetAtt': ['ServicesBotSecurityGroup46B32024', 'GroupId'] },
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              CidrIp: '0.0.0.0/0',
            },
          };
        }),
      );
      expect(s.securityGroupWidening).toEqual([
        {
          direction: 'ingress',
          group: '${ServicesBotSecurityGroup46B32024.GroupId}',
          protocol: 'TCP 22',
          peer: 'Everyone (IPv4)',
          world: true,
        },
      ]);
    });

    test('an inline IPv6 ::/0 rule is world-open too', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupIngress.push({
            CidrIpv6: '::/0',
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
          });
        }),
      );
      expect(s.securityGroupWidening).toEqual([
        expect.objectContaining({ direction: 'ingress', peer: 'Everyone (IPv6)', world: true }),
      ]);
    });

    test('a rule from inside the VPC is widening but not world-open', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupIngress.push({
            CidrIp: '10.20.0.0/16',
            IpProtocol: 'tcp',
            FromPort: 8080,
            ToPort: 8080,
          });
        }),
      );
      expect(s.securityGroupWidening).toEqual([
        expect.objectContaining({ peer: '10.20.0.0/16', world: false }),
      ]);
    });
  });

  describe('desired counts', () => {
    test('a DesiredCount appearing on the bot service is flagged: it would undo an emergency scale-to-zero', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesBotService0E8F015B.Properties.DesiredCount = 1;
        }),
      );
      expect(s.counts).toEqual([
        {
          service: 'bot',
          logicalId: 'ServicesBotService0E8F015B',
          property: 'DesiredCount',
          from: undefined,
          to: 1,
          warning: expect.stringMatching(/undoing an emergency scale-to-zero/),
        },
      ]);
    });

    test('ML autoscaling bounds and target are listed from → to', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesMlTaskCountTarget9DD9E5B8.Properties.MaxCapacity = 8;
          r.ServicesMlTaskCountTargetCpuScaling89B87EB0.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue = 50;
        }),
      );
      expect(s.counts.map((c) => [c.service, c.property, c.from, c.to])).toEqual([
        ['ml-service', 'MaxCapacity', 4, 8],
        ['ml-service', 'TargetValue', 60, 50],
      ]);
    });
  });

  describe('IAM', () => {
    test('a new action on the bot task role is widening, listing only what is new', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesBotTaskTaskRoleDefaultPolicy07609034.Properties.PolicyDocument.Statement[0].Action.push(
            'secretsmanager:PutSecretValue',
          );
        }),
      );
      expect(s.iamWidening).toEqual([
        expect.objectContaining({
          principal: 'AWS:${ServicesBotTaskTaskRole673A571D}',
          actions: ['secretsmanager:PutSecretValue'],
          resources: ['${SecretsConfig4EDE2024}'],
          wildcard: false,
        }),
      ]);
    });

    test('a statement split in two with the same rights is not widening', () => {
      const s = summarize(
        changed(BASE, (r) => {
          const doc = r.ServicesBotTaskTaskRoleDefaultPolicy07609034.Properties.PolicyDocument;
          doc.Statement = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'].map(
            (Action) => ({
              Effect: 'Allow',
              Action,
              Resource: { Ref: 'SecretsConfig4EDE2024' },
            }),
          );
        }),
      );
      expect(s.changeCount).toBeGreaterThan(0);
      expect(s.iamWidening).toEqual([]);
    });

    test('a wildcard grant is marked as such', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.ServicesBotTaskTaskRoleDefaultPolicy07609034.Properties.PolicyDocument.Statement.push({
            Effect: 'Allow',
            Action: 'ecs:*',
            Resource: '*',
          });
        }),
      );
      expect(s.iamWidening).toEqual([
        expect.objectContaining({ actions: ['ecs:*'], resources: ['*'], wildcard: true }),
      ]);
    });
  });

  describe("emergency stop's rights and wiring", () => {
    test('losing a right is reported on its role (and is not IAM widening)', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.OperationsEmergencyStopRoleDefaultPolicy5C1A2B3D.Properties.PolicyDocument.Statement[1].Action = [
            'secretsmanager:GetSecretValue',
          ];
        }),
      );
      expect(s.emergencyStop).toEqual([
        {
          logicalId: 'OperationsEmergencyStopRoleB2B0A6C1',
          type: 'AWS::IAM::Role',
          part: 'role',
          change: 'updated',
          details: ['loses: secretsmanager:PutSecretValue on ${SecretsConfig4EDE2024}'],
        },
      ]);
      expect(s.iamWidening).toEqual([]);
    });

    test('gaining a wildcard right is reported on its role and as IAM widening', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.OperationsEmergencyStopRoleDefaultPolicy5C1A2B3D.Properties.PolicyDocument.Statement.push({
            Effect: 'Allow',
            Action: 'ecs:*',
            Resource: '*',
          });
        }),
      );
      expect(s.emergencyStop).toEqual([
        expect.objectContaining({ part: 'role', details: ['gains: ecs:* on *'] }),
      ]);
      expect(s.iamWidening).toEqual([
        expect.objectContaining({ principal: 'AWS:${OperationsEmergencyStopRoleB2B0A6C1}', wildcard: true }),
      ]);
    });

    test('an alarm that no longer invokes the function is reported', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.MonitoringBotLossLimit1A2B3C4D.Properties.AlarmActions = [{ Ref: 'AlertingOnCall8D8B76F5' }];
        }),
      );
      expect(s.emergencyStop).toEqual([
        expect.objectContaining({
          logicalId: 'MonitoringBotLossLimit1A2B3C4D',
          part: 'alarm',
          details: ['AlarmActions changed', 'no longer invokes the emergency stop'],
        }),
      ]);
    });

    test('a new alarm wired to the function is reported as now invoking it', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.MonitoringBotErrors5E6F7A8B = {
            Type: 'AWS::CloudWatch::Alarm',
            Properties: {
              MetricName: 'Errors',
              Namespace: 'CleverBetter',
              Threshold: 10,
              AlarmActions: [{ 'Fn::GetAtt': ['OperationsStopFunction4F1E2D3C', 'Arn'] }],
            },
          };
        }),
      );
      expect(s.emergencyStop).toEqual([
        expect.objectContaining({
          logicalId: 'MonitoringBotErrors5E6F7A8B',
          change: 'added',
          details: ['now invokes the emergency stop'],
        }),
      ]);
    });

    test('a change to the function itself names the property from → to', () => {
      const s = summarize(
        changed(BASE, (r) => {
          r.OperationsStopFunction4F1E2D3C.Properties.ReservedConcurrentExecutions = 0;
        }),
      );
      expect(s.emergencyStop).toEqual([
        expect.objectContaining({ part: 'function', details: ['ReservedConcurrentExecutions: 1 → 0'] }),
      ]);
    });

    test('removing the function and its permission is reported part by part', () => {
      const s = summarize(
        changed(BASE, (r) => {
          delete r.OperationsStopFunction4F1E2D3C;
          delete r.OperationsStopFunctionAlarmPermission9A8B7C6D;
        }),
      );
      expect(s.emergencyStop.map((e) => [e.part, e.logicalId, e.change])).toEqual(
        expect.arrayContaining([
          ['function', 'OperationsStopFunction4F1E2D3C', 'removed'],
          ['permission', 'OperationsStopFunctionAlarmPermission9A8B7C6D', 'removed'],
        ]),
      );
    });
  });

  describe('live-trading flag', () => {
    test('a template value switching live trading on is reported from → to', () => {
      const staging = changed(BASE, (r) => {
        r.SecretsConfig4EDE2024.Properties.SecretString = '{"live_trading_enabled":false}';
      });
      const s = summarizeStack('StagingStack', staging, BASE).summary;
      expect(s.liveTrading).toEqual([
        {
          logicalId: 'SecretsConfig4EDE2024',
          secretName: 'clever-better/production/config',
          change: 'updated',
          from: false,
          to: true,
        },
      ]);
    });
  });

  test('a new stack (no base template) is all additions, nothing destructive', () => {
    const s = summarizeStack('ProductionStack', undefined, BASE).summary;
    expect(s.changeCount).toBe(Object.keys(BASE.Resources).length);
    expect(s.removals).toEqual([]);
    expect(s.taskDefinitions.map((t) => [t.service, t.change, t.imageTags])).toEqual([
      ['bot', 'added', [{ container: 'app', to: 'v1.2.3' }]],
      ['ml-service', 'added', [{ container: 'app', to: 'v1.2.3' }]],
    ]);
    expect(s.blocked).toBe(false);
  });

  test('CDKMetadata (the library version) is not a change', () => {
    const withMetadata = (version: string) =>
      changed(BASE, (r) => {
        r.CDKMetadata = { Type: 'AWS::CDK::Metadata', Properties: { Analytics: version } };
      });
    expect(summarizeStack('S', withMetadata('v2:1'), withMetadata('v2:2')).summary.changeCount).toBe(0);
  });
});
