import { Global, Module } from '@nestjs/common';
import { LiveEvents } from './live-events';
import { RedisService } from './redis.service';

@Global()
@Module({ providers: [RedisService, LiveEvents], exports: [RedisService, LiveEvents] })
export class RedisModule {}
