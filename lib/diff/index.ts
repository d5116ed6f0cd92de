// The pull-request diff: risk summary of a template pair, its renderings, and `npm run diff`.
export * from './assembly';
export * from './changes';
export * from './iam';
export * from './images';
export * from './migrations';
export * from './physical-names';
export * from './protections';
export * from './render';
export * from './routing';
export * from './rules';
export * from './safety-code';
export * from './secret-access';
export * from './sql';
export * from './subjects';
export * from './summary';
export * from './template';
export * from './types';
