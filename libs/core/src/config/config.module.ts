import { Global, Module } from '@nestjs/common';
import { AppConfig, getConfig } from './app-config';

@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => getConfig() }],
  exports: [AppConfig],
})
export class ConfigModule {}
