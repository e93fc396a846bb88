export * from './git-refs';
export * from './git-validators';
