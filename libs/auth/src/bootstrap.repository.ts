import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { withAdvisoryLock } from '@app/core';
import { DataSource } from 'typeorm';

const BOOTSTRAP_LOCK_KEY = 727_002;

/** The bootstrap's lock: one process at a time looks at an empty database. */
@Injectable()
export class BootstrapRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  underLock<T>(fn: () => Promise<T>): Promise<T> {
    return withAdvisoryLock(this.dataSource, BOOTSTRAP_LOCK_KEY, fn);
  }
}
