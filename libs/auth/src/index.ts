export * from './api-client.dto';
export * from './api-clients.service';
export * from './auth.decorators';
export * from './auth.dto';
export * from './auth.guard';
export * from './auth.module';
export * from './auth.service';
export * from './bootstrap.service';
