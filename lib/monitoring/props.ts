import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { MonitoringConfig } from '../../environments/types';
import { MonitoringNames } from './names';

/** A service the monitoring watches. */
export interface MonitoredService {
  /** The ECS service name as operators know it (`bot`, `ml-service`); a literal, for readable alarms. */
  readonly name: string;
  /** The ECS service. */
  readonly service: ecs.FargateService;
  /** The ALB target group it is registered in. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  /** Alarm prefix, dashboard name and failed-task log group name (lib/monitoring/names.ts). */
  readonly names: MonitoringNames;
  /** Thresholds, from `environments/` (`monitoring`). */
  readonly thresholds: MonitoringConfig;
  /**
   * Whether live trading is meant to be on (`liveTradingEnabled` in `environments/`). Where it is, a
   * bot that reports its flag off without an emergency stop is an incident (`trading-flag-off`);
   * where it is not (staging), "flag off" is the normal state and raises nothing.
   */
  readonly liveTradingEnabled: boolean;
  /**
   * The on-call topic, the library's default action; lib/monitoring/routing.ts then routes every alarm
   * by its severity (docs/runbooks.md "Which alarm means what").
   */
  readonly topic: sns.ITopic;
  /** The cluster of both services. */
  readonly cluster: ecs.ICluster;
  /** The internal ALB in front of both services. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The trading bot, and its log group `/ecs/clever-better-bot`. */
  readonly bot: MonitoredService & { readonly logGroup: logs.ILogGroup };
  /** The ML prediction service. */
  readonly ml: MonitoredService;
  /** The PostgreSQL instance. */
  readonly database: rds.IDatabaseInstance;
  /** Its sizing, which the storage and connection thresholds are measured against. */
  readonly databaseSize: {
    /** RDS instance class, e.g. `db.r6g.large`: its memory sets `max_connections`. */
    readonly instanceClass: string;
    /** Initial allocated storage, GiB. */
    readonly allocatedStorageGiB: number;
    /** Storage autoscaling maximum, GiB. */
    readonly maxAllocatedStorageGiB: number;
  };
  /** Days the failed-task events are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the failed-task log group when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Where alarm descriptions send the reader. @default 'docs/runbooks.md' (in this repository) */
  readonly runbookUrl?: string;
  /**
   * The emergency-stop function, whose invocations the dashboard shows.
   * @default not shown, unless given later to {@link Monitoring.showInvocations}
   */
  readonly emergencyStopFunction?: lambda.IFunction;
  /**
   * The rollback function, whose invocations the dashboard shows.
   * @default not shown, unless given later to {@link Monitoring.showInvocations}
   */
  readonly rollbackFunction?: lambda.IFunction;
}
