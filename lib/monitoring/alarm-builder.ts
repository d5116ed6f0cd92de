import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  AlarmWithAnnotation,
  CustomAlarmThreshold,
  CustomMetricGroup,
  CustomMonitoring,
  MonitoringFacade,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { FailedTaskEvents } from './failed-tasks';
import { MonitoringProps } from './props';

/** Every alarm monitoring creates, by symptom; the alarm is named `<alarmPrefix>-<symptom>`. */
export const MONITORING_SYMPTOMS = [
  'bot-tasks-below-desired',
  'ml-tasks-below-desired',
  'bot-failed-tasks',
  'ml-failed-tasks',
  'bot-crash-loop',
  'bot-unhealthy-targets',
  'ml-unhealthy-targets',
  'ml-latency-p90',
  'ml-prediction-timeouts',
  'ml-5xx',
  'alb-5xx',
  'bot-silent',
  'bot-silent-while-trading',
  'bot-no-bets',
  'bot-no-bets-while-trading',
  'bot-error-log-lines',
  'betfair-auth-failures',
  'betfair-rate-limited',
  'betfair-session-unhealthy',
  'market-data-stale',
  'trading-halted',
  'trading-flag-off',
  'bot-scaled-to-zero',
  'trading-still-halted',
  'trading-impaired',
  'bot-tasks-running',
  'bot-tasks-stopped',
  'emergency-stop-not-in-effect',
  'bot-cpu',
  'bot-memory',
  'ml-cpu',
  'ml-memory',
  'database-cpu',
  'database-storage-exhausted',
  'database-free-storage',
  'database-connections',
  'database-connections-dropped',
  'database-freeable-memory',
  'database-disk-queue-depth',
  'database-xid-wraparound',
  'database-read-latency',
  'database-write-latency',
  'failed-task-events-undelivered',
] as const;

/** One symptom an alarm watches. */
export type MonitoringSymptom = (typeof MONITORING_SYMPTOMS)[number];

/** How one alarm evaluates. */
export interface AlarmSpec {
  /** What the alarm means and the first thing to check, for the 3 a.m. reader of the e-mail. */
  readonly description: string;
  /** Chosen per alarm: what a period without data means for this symptom. */
  readonly missing: cloudwatch.TreatMissingData;
  readonly period: Duration;
  /** Periods looked at; all of them must breach unless `datapointsToAlarm` says otherwise. */
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm?: number;
}

export const { NOT_BREACHING, BREACHING } = cloudwatch.TreatMissingData;

/**
 * What the per-concern alarm files (service, database, trading) share: the library facade every alarm
 * goes through, and the one way an alarm gets its name, description, runbook link and evaluation.
 */
export interface AlarmBuilder {
  /** Parent of the constructs the alarm files create beside their alarms (metric filters). */
  readonly scope: Construct;
  readonly facade: MonitoringFacade;
  readonly props: MonitoringProps;
  readonly failedTasks: FailedTaskEvents;
  /** The parts of a library threshold every alarm of this project sets. */
  threshold(symptom: MonitoringSymptom, spec: AlarmSpec): CustomAlarmThreshold;
  /** A library segment of project metrics; its alarms are collected by symptom. */
  custom(friendlyName: string, title: string, metricGroups: CustomMetricGroup[]): CustomMonitoring;
  /** Records created alarms by symptom; throws for an alarm not named by alarmName(). */
  collect(created: readonly AlarmWithAnnotation[]): void;
}
