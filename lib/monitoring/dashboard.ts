import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IDashboardSegment } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { MonitoringNames } from './names';

/**
 * The dashboard's operations row: invocations and errors of the emergency-stop and rollback functions,
 * or a note where the stack has no such function yet.
 */
export function operationsWidgets(
  emergencyStop: lambda.IFunction | undefined,
  rollback: lambda.IFunction | undefined,
): cloudwatch.IWidget[] {
  const functions = [
    ['Emergency stop', emergencyStop],
    ['Rollback', rollback],
  ] as const;
  return functions.map(([label, fn]) =>
    fn
      ? new cloudwatch.GraphWidget({
          title: `${label}: invocations and errors`,
          left: [
            fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, label: 'Invocations' }),
            fn.metricErrors({ statistic: cloudwatch.Stats.SUM, label: 'Errors' }),
          ],
          width: 12,
          height: 6,
        })
      : new cloudwatch.TextWidget({
          markdown: `### ${label}\nThis stack has no ${label.toLowerCase()} function to show yet.`,
          width: 12,
          height: 6,
        }),
  );
}

/** Functions whose invocations the dashboard's operations row shows. */
export type OperationsFunction = 'emergencyStop' | 'rollback';

/**
 * A widget rendered at synth time, so functions registered after the dashboard was laid out still
 * appear (the dashboard body is itself resolved lazily).
 */
export class LateWidget implements cloudwatch.IWidget {
  private x = 0;
  private y = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly build: () => cloudwatch.IWidget,
  ) {}

  position(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  toJson(): unknown[] {
    const widget = this.build();
    widget.position(this.x, this.y);
    return widget.toJson();
  }
}

/** What {@link layoutDashboard} shows. */
export interface DashboardContent {
  readonly names: MonitoringNames;
  /** Where the header sends the reader for runbooks. */
  readonly runbookUrl: string;
  /** Alarms of the "Alarm states" widget, read at synth time. */
  readonly statusAlarms: () => cloudwatch.IAlarm[];
  /** The library segments, one row group each, in this order. */
  readonly segments: readonly IDashboardSegment[];
  /** Functions of the operations row, read at synth time. */
  readonly operations: () => Partial<Record<OperationsFunction, lambda.IFunction>>;
}

/**
 * The environment's dashboard, laid out by hand: header, alarm states, one section per concern,
 * then the operations functions. Widgets that list things registered later are built at synth time.
 */
export function layoutDashboard(scope: Construct, content: DashboardContent): cloudwatch.Dashboard {
  const { names } = content;
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: names.dashboard,
    start: '-PT8H',
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown:
        `# ${names.dashboard}\n` +
        `Alarms are named \`${names.alarmPrefix}-<symptom>\`; each description names its runbook ` +
        `(${content.runbookUrl}). One-screen summary: \`npm run ops -- status --env <env>\`.`,
      width: 24,
      height: 2,
    }),
  );
  // The widget scrolls when there are more alarms than fit.
  dashboard.addWidgets(
    new LateWidget(
      24,
      8,
      () =>
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarm states (most recently changed first)',
          alarms: content.statusAlarms(),
          width: 24,
          height: 8,
          sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        }),
    ),
  );
  for (const segment of content.segments) dashboard.addWidgets(...segment.widgets());
  dashboard.addWidgets(
    new LateWidget(24, 6, () => {
      const { emergencyStop, rollback } = content.operations();
      return new cloudwatch.Row(...operationsWidgets(emergencyStop, rollback));
    }),
  );
  return dashboard;
}
