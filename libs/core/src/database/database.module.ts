import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { DatabasePool } from './database-pool';
import { dataSourceOptions } from './data-source-options';
import { Sql } from './sql';
import { UnitOfWork } from './unit-of-work';

const poolProvider = {
  provide: DatabasePool,
  inject: [AppConfig],
  useFactory: (config: AppConfig) => new DatabasePool(config),
};

/** The one pool, in a module of its own so TypeORM's async factory can be given it. */
@Module({ providers: [poolProvider], exports: [DatabasePool] })
class DatabasePoolModule {}

@Global()
@Module({
  imports: [
    DatabasePoolModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabasePoolModule],
      inject: [AppConfig, DatabasePool],
      useFactory: (config: AppConfig, database: DatabasePool) => ({
        ...dataSourceOptions(config, 'cocode', database.pool),
        // Start even when PostgreSQL is briefly away; requests then answer 503 until it is back.
        retryAttempts: 10,
        retryDelay: 1000,
      }),
    }),
  ],
  providers: [UnitOfWork, Sql],
  exports: [UnitOfWork, Sql, DatabasePoolModule],
})
export class DatabaseModule {}
