import { Inject, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, UnitOfWork } from '@app/core';
import { FileStore } from './file-store';
import { PostgresFileStore } from './postgres-file-store';
import { S3FileStore } from './s3-file-store';
import { StoredFilesRepository } from './stored-files.repository';

/** FileStore as FILE_STORE says: postgres (default) or s3. */
@Module({
  providers: [
    StoredFilesRepository,
    {
      provide: FileStore,
      inject: [AppConfig, StoredFilesRepository, UnitOfWork],
      useFactory: (config: AppConfig, files: StoredFilesRepository, uow: UnitOfWork): FileStore =>
        config.fileStore.kind === 's3'
          ? new S3FileStore(config.fileStore)
          : new PostgresFileStore(files, uow),
    },
  ],
  exports: [FileStore],
})
export class StorageModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FileStore');

  constructor(@Inject(FileStore) private readonly store: FileStore) {}

  /** A bucket that is missing or refused is said at start, not at the first build's artifacts. */
  onApplicationBootstrap(): void {
    if (this.store instanceof S3FileStore)
      void this.store
        .check()
        .catch((err: Error) =>
          this.logger.error(`FILE_STORE=s3: the bucket cannot be used (${err.name}: ${err.message})`),
        );
  }

  onApplicationShutdown(): void {
    if (this.store instanceof S3FileStore) this.store.destroy();
  }
}
