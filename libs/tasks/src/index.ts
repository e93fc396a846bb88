export * from './task-counters.entity';
export * from './task-history.entity';
export * from './task-workflow';
export * from './task.dto';
export * from './task.entity';
export * from './tasks.module';
export * from './tasks.service';
