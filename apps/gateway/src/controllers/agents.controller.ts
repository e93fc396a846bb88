import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import {
  ActivateAgentDto,
  ActivationAcceptedDto,
  ActivationProgressDto,
  ActivationResultDto,
  ActivationSummaryDto,
  ActivationStatus,
  AgentEvents,
  AgentInfoDto,
  AgentListDto,
  AgentsService,
  ListActivationsQueryDto,
  TERMINAL_STATUSES,
} from '@app/agents';
import { Authenticated, CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import { LongLived } from '@app/ratelimit';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';
import { parseLastEventId, sendEventStream } from '../http/sse';

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly events: AgentEvents,
  ) {}

  @Get()
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'The eight agents, their steps, and who may activate each' })
  @ApiOkResponse({ type: AgentListDto })
  list(@CurrentUser() principal: Principal): { data: AgentInfoDto[] } {
    return { data: this.agents.definitions(principal) };
  }

  @Post(':agentType/activate')
  @Authenticated()
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Activate an agent on a task (product: product_manager; architecture, api: architect; backend, frontend: developer; test, qa: tester; devops: devops; admin: all)',
  })
  @ApiAcceptedResponse({
    type: ActivationAcceptedDto,
    headers: { Location: { description: 'The progress to poll', schema: { type: 'string' } } },
  })
  async activate(
    @CurrentUser() principal: Principal,
    @Param('agentType') agentType: string,
    @Body() dto: ActivateAgentDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ActivationAcceptedDto> {
    const accepted = await this.agents.activate(principal, agentType, dto);
    reply.header('Location', `/v2${accepted.progressUrl}`);
    return accepted;
  }

  @Get('activations')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'Activations you can see, filtered by task, agent type or status' })
  @ApiPage(ActivationSummaryDto)
  activations(
    @CurrentUser() principal: Principal,
    @Query() query: ListActivationsQueryDto,
  ): Promise<Page<ActivationSummaryDto>> {
    return this.agents.list(principal, query);
  }

  @Get('activations/:activationId/progress')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'Steps, progress, intermediate results and logs as the worker runs them' })
  @ApiOkResponse({ type: ActivationProgressDto })
  progress(
    @CurrentUser() principal: Principal,
    @Param('activationId') activationId: string,
  ): Promise<ActivationProgressDto> {
    return this.agents.progress(principal, activationId);
  }

  @Get('activations/:activationId/result')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'The output and metrics (409 while queued or processing)' })
  @ApiOkResponse({ type: ActivationResultDto })
  result(
    @CurrentUser() principal: Principal,
    @Param('activationId') activationId: string,
  ): Promise<ActivationResultDto> {
    return this.agents.result(principal, activationId);
  }

  @Post('activations/:activationId/cancel')
  @Authenticated()
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel: a queued activation at once, a running one between steps at the latest' })
  @ApiAcceptedResponse({
    type: ActivationSummaryDto,
    headers: { Location: { description: 'The progress to poll', schema: { type: 'string' } } },
  })
  async cancel(
    @CurrentUser() principal: Principal,
    @Param('activationId') activationId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ActivationSummaryDto> {
    const summary = await this.agents.cancel(principal, activationId);
    reply.header('Location', `/v2/agents/activations/${activationId}/progress`);
    return summary;
  }

  @Get('activations/:activationId/attachments/:name')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'A file of the output (listed in the result’s attachments)' })
  @ApiProduces('text/markdown', 'text/csv')
  async attachment(
    @CurrentUser() principal: Principal,
    @Param('activationId') activationId: string,
    @Param('name') name: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const file = await this.agents.attachment(principal, activationId, name);
    await reply
      .type(file.contentType)
      .header('Content-Disposition', `attachment; filename="${name.replace(/"/g, '')}"`)
      .send(file.content);
  }

  @Get('activations/:activationId/events')
  @RequirePermissions(Permission.AgentsRead)
  @LongLived() // an open stream holds no rate-limit in-flight slot
  @ApiOperation({
    summary:
      'Server-Sent Events: progress, log, step, completed/failed/cancelled. Reconnect with Last-Event-ID to get what you missed.',
  })
  @ApiProduces('text/event-stream')
  async stream(
    @CurrentUser() principal: Principal,
    @Param('activationId') activationId: string,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Query('lastEventId') lastEventIdQuery: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const activation = await this.agents.visible(principal, activationId);
    const after = String(parseLastEventId(lastEventIdHeader ?? lastEventIdQuery));
    const ended = async () => {
      const now = await this.agents.stateOf(activation.id);
      return !now || TERMINAL_STATUSES.includes(now.status as ActivationStatus);
    };
    const events = this.events;
    await sendEventStream(reply, async function* (signal) {
      for await (const e of events.stream(activation.id, after, signal, ended))
        yield 'heartbeat' in e
          ? e
          : { id: Number(e.id), event: e.type, data: { ...e.data, timestamp: e.createdAt } };
    });
  }
}
