import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** A running transaction: its EntityManager plus work to do only once it has committed. */
export interface Tx {
  readonly manager: EntityManager;
  afterCommit(fn: () => void | Promise<void>): void;
}

@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Runs fn in one transaction; afterCommit callbacks run after COMMIT and never fail the caller. */
  async run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks: Array<() => void | Promise<void>> = [];
    const result = await this.dataSource.transaction((manager) =>
      fn({ manager, afterCommit: (h) => hooks.push(h) }),
    );
    for (const hook of hooks) {
      try {
        await hook();
      } catch (err) {
        this.logger.warn(`after-commit hook failed: ${(err as Error).message}`);
      }
    }
    return result;
  }
}
