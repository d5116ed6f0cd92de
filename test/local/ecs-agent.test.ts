import { settle } from '../../lib/local/ecs-agent';

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
