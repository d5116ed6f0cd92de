// The pull-request diff: risk summary of a template pair, its renderings, and `npm run diff`.
export * from './assembly';
export * from './iam';
export * from './images';
export * from './migrations';
export * from './physical-names';
export * from './render';
export * from './rules';
export * from './subjects';
export * from './summary';
export * from './template';
