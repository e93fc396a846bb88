import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { Sql } from './sql';
import { UnitOfWork } from './unit-of-work';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config),
        // Start even when PostgreSQL is briefly away; requests then answer 503 until it is back.
        retryAttempts: 10,
        retryDelay: 1000,
      }),
    }),
  ],
  providers: [UnitOfWork, Sql],
  exports: [UnitOfWork, Sql],
})
export class DatabaseModule {}
