export * from './alarm-builder';
export * from './dashboard';
export * from './failed-tasks';
export * from './log-contract';
export * from './monitoring';
export * from './names';
export * from './props';
export * from './racing-hours';
