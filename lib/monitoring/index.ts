export * from './failed-tasks';
export * from './log-contract';
export * from './monitoring';
export * from './names';
export * from './racing-hours';
