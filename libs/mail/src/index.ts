export * from './mail.entity';
export * from './mail.module';
export * from './mail.service';
