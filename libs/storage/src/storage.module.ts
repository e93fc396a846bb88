import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
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
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(FileStore) private readonly store: FileStore) {}

  onApplicationShutdown(): void {
    if (this.store instanceof S3FileStore) this.store.destroy();
  }
}
