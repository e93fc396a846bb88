import { Module } from '@nestjs/common';
import { Sandbox } from './sandbox/sandbox';

/** What every job runner shares: the sandbox (the one way a job starts a process). */
@Module({ providers: [Sandbox], exports: [Sandbox] })
export class RunnerModule {}
