import {
  BeforeApplicationShutdown,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Permission, Principal } from '@app/core';
import { BuildDto, BuildsService, logEventMessage } from '@app/pipelines';
import { LongLived } from '@app/ratelimit';
import { FastifyReply } from 'fastify';
import { closeEventStreams, parseLastEventId, sendEventStream, wantsEventStream } from '../http/sse';

@ApiTags('builds')
@Controller('builds')
export class BuildsController implements BeforeApplicationShutdown {
  constructor(private readonly builds: BuildsService) {}

  beforeApplicationShutdown(): void {
    closeEventStreams();
  }

  @Get(':buildId')
  @RequirePermissions(Permission.BuildsRead)
  @ApiOperation({ summary: 'A build: status, current stage, progress, every stage, artifacts, log links' })
  @ApiOkResponse({ type: BuildDto })
  get(@CurrentUser() principal: Principal, @Param('buildId') buildId: string): Promise<BuildDto> {
    return this.builds.get(principal, buildId);
  }

  @Post(':buildId/cancel')
  @RequirePermissions(Permission.BuildsWrite)
  @HttpCode(202)
  @ApiOperation({
    summary: 'Cancel a build: a queued one at once, a running one within moments (its processes are killed)',
  })
  @ApiAcceptedResponse({
    type: BuildDto,
    headers: { Location: { description: 'The build to poll', schema: { type: 'string' } } },
  })
  async cancel(
    @CurrentUser() principal: Principal,
    @Param('buildId') buildId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BuildDto> {
    const build = await this.builds.cancel(principal, buildId);
    reply.header('Location', `/v2/builds/${build.buildId}`);
    return build;
  }

  @Get(':buildId/logs')
  @RequirePermissions(Permission.BuildsRead)
  @LongLived() // an open stream holds no rate-limit in-flight slot
  @ApiOperation({
    summary:
      'The build log as text; with Accept: text/event-stream, its events (log, stage, status) live until the build ends, resumable with Last-Event-ID',
  })
  @ApiProduces('text/plain', 'text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume the event stream after this event',
  })
  @ApiOkResponse({
    description: 'text/plain: the output so far; text/event-stream: events `log` {text}, `stage`, `status`',
  })
  async logs(
    @CurrentUser() principal: Principal,
    @Param('buildId') buildId: string,
    @Headers('accept') accept: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(accept)) {
      const text = await this.builds.logText(principal, buildId);
      await reply.type('text/plain; charset=utf-8').send(text);
      return;
    }
    const events = await this.builds.logEvents(principal, buildId, parseLastEventId(lastEventId));
    await sendEventStream(reply, async function* (signal) {
      for await (const item of events(signal)) yield 'heartbeat' in item ? item : logEventMessage(item);
    });
  }

  @Get(':buildId/artifacts/:name')
  @RequirePermissions(Permission.BuildsRead)
  @ApiOperation({ summary: 'Download an artifact of a build' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The file', schema: { type: 'string', format: 'binary' } })
  async artifact(
    @CurrentUser() principal: Principal,
    @Param('buildId') buildId: string,
    @Param('name') name: string,
  ): Promise<StreamableFile> {
    const file = await this.builds.artifact(principal, buildId, name);
    return new StreamableFile(file.stream, {
      type: 'application/octet-stream',
      length: file.size,
      disposition: `attachment; filename="${file.name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    });
  }
}
