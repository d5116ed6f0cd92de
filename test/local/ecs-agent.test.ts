import { DeploymentHistory, settle } from '../../lib/local/ecs-agent';

describe('the local stand-in settles ECS services (no containers run there)', () => {
  test('a DescribeServices answer shows running = desired and a COMPLETED rollout', () => {
    const moto = JSON.stringify({
      services: [
        {
          serviceName: 'bot',
          desiredCount: 1,
          runningCount: 0,
          pendingCount: 1,
          deployments: [{ id: 'ecs-svc/1', desiredCount: 1, runningCount: 0, rolloutState: 'IN_PROGRESS' }],
        },
      ],
      failures: [],
    });
    expect(JSON.parse(settle(moto))).toEqual({
      services: [
        {
          serviceName: 'bot',
          desiredCount: 1,
          runningCount: 1,
          pendingCount: 0,
          deployments: [
            { id: 'ecs-svc/1', desiredCount: 1, runningCount: 1, pendingCount: 0, rolloutState: 'COMPLETED' },
          ],
        },
      ],
      failures: [],
    });
  });

  test('a failed rollout stays failed', () => {
    const moto = JSON.stringify({
      services: [{ deployments: [{ desiredCount: 0, rolloutState: 'FAILED' }] }],
    });
    expect(JSON.parse(settle(moto)).services[0].deployments[0].rolloutState).toBe('FAILED');
  });
});

describe('the local stand-in keeps the service-deployment history moto lacks', () => {
  const service = 'arn:aws:ecs:eu-west-1:123456789012:service/clever-better-local/bot';
  const td = (n: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/clever-better-bot:${n}`;
  const answer = (taskDefinition: string) => ({
    service: {
      serviceArn: service,
      clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/clever-better-local',
      taskDefinition,
    },
  });

  test('each change of task definition is one SUCCESSFUL deployment, newest first, with its source revision', () => {
    const history = new DeploymentHistory();
    history.record({}, answer(td(1)));
    history.record({}, answer(td(1))); // a scale or a no-op: no deployment
    history.record({}, answer(td(2)));
    const list = history.answer('ListServiceDeployments', {
      cluster: 'clever-better-local',
      service: 'bot',
    }) as {
      serviceDeployments: {
        serviceDeploymentArn: string;
        status: string;
        targetServiceRevisionArn: string;
      }[];
    };
    expect(list.serviceDeployments.map((d) => d.status)).toEqual(['SUCCESSFUL', 'SUCCESSFUL']);
    const [newest, oldest] = list.serviceDeployments;
    const described = history.answer('DescribeServiceDeployments', {
      serviceDeploymentArns: [newest.serviceDeploymentArn],
    }) as { serviceDeployments: { sourceServiceRevisions: { arn: string }[] }[] };
    expect(described.serviceDeployments[0].sourceServiceRevisions).toEqual([
      { arn: oldest.targetServiceRevisionArn },
    ]);
    const revisions = history.answer('DescribeServiceRevisions', {
      serviceRevisionArns: [newest.targetServiceRevisionArn, oldest.targetServiceRevisionArn],
    }) as { serviceRevisions: { taskDefinition: string }[] };
    expect(revisions.serviceRevisions.map((r) => r.taskDefinition).sort()).toEqual([td(1), td(2)]);
  });

  test('a forced new deployment of the same task definition is a deployment; other calls are left to moto', () => {
    const history = new DeploymentHistory();
    history.record({}, answer(td(1)));
    history.record({ forceNewDeployment: true }, answer(td(1)));
    const list = history.answer('ListServiceDeployments', { service }) as { serviceDeployments: unknown[] };
    expect(list.serviceDeployments).toHaveLength(2);
    expect(history.answer('DescribeServices', {})).toBeUndefined();
  });
});
