export * from './flow.dto';
export * from './flow.entity';
export * from './flows.module';
export * from './flows.service';
export * from './flow-engine.service';
