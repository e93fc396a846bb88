export * from './task.dto';
export * from './task.entity';
export * from './tasks.module';
export * from './tasks.service';
export * from './task-workflow';
