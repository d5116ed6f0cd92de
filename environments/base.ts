import { EnvironmentConfig } from './types';

/**
 * Values every environment shares. Staging and production override only what really differs,
 * so `production.ts` reads as the list of what production does differently.
 */
export const base: Omit<EnvironmentConfig, 'name' | 'stackName' | 'account'> = {
  region: 'eu-west-1',
  terminationProtection: false,
  liveTradingEnabled: false,
  allowMutableImageTags: false,
  logRetentionDays: 30,
  retainLogsOnDelete: true,
  alarmEmail: 'oncall@clever-better.example',
  ecrImagesToKeep: 30,
  loadBalancerDeletionProtection: false,
  network: {
    cidr: '10.0.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 1,
    flowLogRetentionDays: 30,
  },
  bot: {
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 1,
    imageTag: 'v1.2.3',
    containerPort: 8080,
    healthCheckGracePeriodSeconds: 30,
  },
  ml: {
    cpu: 1024,
    memoryMiB: 2048,
    desiredCount: 1,
    maxCount: 4,
    targetCpuUtilizationPercent: 60,
    imageTag: 'v1.2.3',
    containerPort: 8000,
    healthCheckGracePeriodSeconds: 30,
  },
  database: {
    instanceClass: 'db.t3.medium',
    allocatedStorageGiB: 50,
    maxAllocatedStorageGiB: 100,
    multiAz: false,
    backupRetentionDays: 7,
    deletionProtection: false,
    removalPolicy: 'snapshot',
    monitoringIntervalSeconds: 60,
  },
  emergencyStop: {
    lossLimit: 500,
    lossWindowMinutes: 60,
    errorStormPerMinute: 50,
    errorStormMinutes: 3,
  },
  rollback: {
    alarmActionEnabled: true,
  },
  monitoring: {
    latencyP90Seconds: 1,
    noBetsWindowMinutes: 60,
    botErrorLinesPer5Minutes: 20,
    serviceCpuPercent: 85,
    serviceMemoryPercent: 85,
    databaseCpuPercent: 80,
    databaseFreeStorageGiB: 10,
    databaseConnections: 200,
    databaseLatencyMs: 50,
    tasksBelowDesiredMinutes: 5,
  },
};
