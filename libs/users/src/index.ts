export * from './audit-log.dto';
export * from './audit-log.service';
export * from './password-hasher';
export * from './user.dto';
export * from './user.entity';
export * from './users.module';
export * from './users.service';
