// What an environment costs a month, and what a change adds: price table, coverage, estimator.
export * from './coverage';
export * from './delta';
export * from './environment';
export * from './estimate';
export * from './prices';
export * from './pr';
export * from './render';
