export * from './permissions';
export * from './principal';
export * from './role';
export * from './principal-events';
