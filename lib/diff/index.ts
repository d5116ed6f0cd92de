// The pull-request diff: risk summary of a template pair, its renderings, and `npm run diff`.
export * from './assembly';
export * from './iam';
export * from './render';
export * from './subjects';
export * from './summary';
export * from './template';
