import { Module } from '@nestjs/common';
import { ModelRelays } from './model-relay/model-relays';
import { Sandbox } from './sandbox/sandbox';

/** What every job runner shares: the sandbox (the one way a job starts a process), model relays. */
@Module({ providers: [Sandbox, ModelRelays], exports: [Sandbox, ModelRelays] })
export class RunnerModule {}
