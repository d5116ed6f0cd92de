import { RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AlarmWithAnnotation,
  CustomAlarmThreshold,
  CustomMetricGroup,
  CustomMonitoring,
  DefaultDashboardFactory,
  MonitoringFacade,
  notifySns,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { AlarmBuilder, AlarmSpec, MONITORING_SYMPTOMS, MonitoringSymptom } from './alarm-builder';
import { layoutDashboard, OperationsFunction } from './dashboard';
import { databaseAlarms } from './database-alarms';
import { FailedTaskEvents } from './failed-tasks';
import { LOG_METRICS } from './log-contract';
import { alarmName } from './names';
import { MonitoringProps } from './props';
import { latencyAlarms, serviceAlarms, taskAlarms } from './service-alarms';
import { stopNotInEffect, tradingSuppression } from './suppression';
import { tradingAlarms } from './trading-alarms';

/**
 * The environment's alarms (one per symptom of the guide's runbooks, all to the on-call topic) and its
 * dashboard. Built on cdk-monitoring-constructs: its Fargate segment supplies the services' standard
 * metrics, alarms and widgets, `CustomMonitoring` the project's own (bets, log filters, task failures,
 * latency, database); every alarm goes through its alarm factory, with names from {@link alarmName}.
 */
export class Monitoring extends Construct implements AlarmBuilder {
  /** Every alarm, by symptom. `bot-no-bets` is absent when no racing days are configured. */
  readonly alarms: Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>> = {};
  readonly dashboard: cloudwatch.Dashboard;
  readonly failedTasks: FailedTaskEvents;
  readonly facade: MonitoringFacade;
  readonly props: MonitoringProps;
  readonly scope: Construct = this;
  private readonly operations: Partial<Record<OperationsFunction, lambda.IFunction>> = {};
  /** Alarms of the dashboard's "Alarm states" widget: these, and others' given to showAlarms. */
  private readonly statusAlarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.props = props;
    const t = props.thresholds;
    const names = props.names;

    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: names.alarmPrefix,
        actionsEnabled: true,
        // Page on ALARM, and say so again on OK so the on-call person knows it recovered.
        action: notifySns(props.topic, props.topic),
      },
      // The dashboard below is laid out by hand; the library's own would order segments by creation.
      dashboardFactory: new DefaultDashboardFactory(this, 'LibraryDashboards', {
        dashboardNamePrefix: names.dashboard,
        createDashboard: false,
      }),
    });

    this.failedTasks = new FailedTaskEvents(this, 'FailedTasks', {
      cluster: props.cluster,
      logGroupName: names.failedTaskEventsLogGroup,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      services: [
        { serviceName: props.bot.name, metricName: LOG_METRICS.botFailedTasks },
        { serviceName: props.ml.name, metricName: LOG_METRICS.mlFailedTasks },
      ],
    });

    const trading = tradingAlarms(this, t);
    const bot = serviceAlarms(this, 'bot', 'Bot (ECS service bot)', props.bot, t);
    const ml = serviceAlarms(this, 'ml', 'ML prediction service (ECS service ml-service)', props.ml, t);
    const tasks = taskAlarms(this, t);
    const latency = latencyAlarms(this, t);
    const database = databaseAlarms(this, t);
    Object.assign(this.alarms, tradingSuppression(this, t, this.alarms));

    this.statusAlarms.push(...Object.values(this.alarms));
    this.dashboard = layoutDashboard(this, {
      names,
      runbookUrl: props.runbookUrl ?? 'docs/runbooks.md',
      statusAlarms: () => [...this.statusAlarms],
      segments: [trading, bot, ml, tasks, latency, database],
      operations: () => this.operations,
    });
    if (props.emergencyStopFunction) this.showInvocations('emergencyStop', props.emergencyStopFunction);
    if (props.rollbackFunction) this.showInvocations('rollback', props.rollbackFunction);
  }

  /**
   * Shows `fn`'s invocations and errors in the dashboard's operations row. For functions built after
   * this construct (the deployment safety needs its failed-task metrics first).
   */
  showInvocations(kind: OperationsFunction, fn: lambda.IFunction): void {
    if (this.operations[kind]) throw new Error(`The dashboard already shows a ${kind} function`);
    this.operations[kind] = fn;
  }

  /**
   * Pages when an emergency stop does not take effect (lib/monitoring/suppression.ts). `triggers` is
   * read at synth, so triggers added to the stop after this call are included.
   */
  watchEmergencyStop(triggers: () => readonly cloudwatch.IAlarm[]): void {
    const created = stopNotInEffect(this, this.props.thresholds, triggers);
    Object.assign(this.alarms, created);
    this.statusAlarms.push(...Object.values(created));
  }

  /** Adds alarms of other constructs (deployment safety, emergency stop) to the dashboard's alarm states. */
  showAlarms(...alarms: cloudwatch.IAlarm[]): void {
    this.statusAlarms.push(...alarms);
  }

  /** The alarm of one symptom; throws if it was not created (e.g. `bot-no-bets` without racing days). */
  alarm(symptom: MonitoringSymptom): cloudwatch.AlarmBase {
    const alarm = this.alarms[symptom];
    if (!alarm) throw new Error(`Monitoring has no alarm "${symptom}" in this environment`);
    return alarm;
  }

  custom(friendlyName: string, title: string, metricGroups: CustomMetricGroup[]): CustomMonitoring {
    const segment = new CustomMonitoring(this.facade, {
      humanReadableName: title,
      alarmFriendlyName: friendlyName,
      metricGroups,
    });
    this.collect(segment.createdAlarms());
    return segment;
  }

  /** The parts of a library threshold every alarm of this project sets. */
  threshold(symptom: MonitoringSymptom, spec: AlarmSpec): CustomAlarmThreshold {
    return {
      alarmNameOverride: alarmName(this.props.names.alarmPrefix, symptom),
      alarmDescriptionOverride: spec.description,
      treatMissingDataOverride: spec.missing,
      period: spec.period,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
    };
  }

  collect(created: readonly AlarmWithAnnotation[]): void {
    const prefix = `${this.props.names.alarmPrefix}-`;
    for (const { alarm, alarmName: name } of created) {
      const symptom = name.slice(prefix.length) as MonitoringSymptom;
      if (!name.startsWith(prefix) || !MONITORING_SYMPTOMS.includes(symptom)) {
        throw new Error(`Alarm "${name}" is not named by alarmName(); every alarm needs a symptom`);
      }
      this.alarms[symptom] = alarm;
    }
  }
}
