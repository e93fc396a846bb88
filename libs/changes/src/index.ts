export * from './change-git';
export * from './change.dto';
export * from './change.entity';
export * from './changes.module';
export * from './changes.service';
